// Calls to the plugin's Python operators (annotators/operators.py): every edit goes through them, so
// it is stamped with the annotator and time and checked by gymdata's core.
import { executeOperator } from "@fiftyone/operators";

export const PLUGIN = "@gymdata/annotate";

/** Run one operator of the plugin; resolves with what its execute() returned. */
export function call(name, params = {}) {
  return new Promise((resolve, reject) => {
    try {
      executeOperator(`${PLUGIN}/${name}`, params, {
      callback: (result) => {
        const error = result?.error || result?.errorMessage;
        if (error) reject(new Error(result?.errorMessage || String(error)));
        else resolve(result?.result ?? {});
      },
      });
    } catch (e) {
      reject(e);
    }
  });
}
