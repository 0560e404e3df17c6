// "GymSliceFollower": an invisible part of the Python "Gym labels" form panel.
//
// A Python panel hears when the modal opens another sample, but not when the App shows another view
// of a two-view take (a click in the carousel, or V in the Gym keys panel): the modal's sample stays
// the group's. And a panel loaded before the App told it the sample (right after a reload) hears of
// it never. This component reports what the modal shows, {slice, sample}, to the form panel (its
// `on_change`), which then shows and edits that view's clip. Reporting only reads; it records nothing.
import React from "react";
import { useRecoilValue } from "recoil";
import * as fos from "@fiftyone/state";

export default function SliceFollower({ path, onChange }) {
  const slice = useRecoilValue(fos.modalGroupSlice);
  const modal = useRecoilValue(fos.modalSample);
  const sample = modal?.sample?._id || modal?.id || null;
  const reported = React.useRef("");
  React.useEffect(() => {
    const key = `${sample}|${slice}`;
    if (sample && key !== reported.current && onChange) {
      reported.current = key;
      onChange(path, { slice: slice || null, sample });
    }
  }, [slice, sample, path, onChange]);
  return null;
}
