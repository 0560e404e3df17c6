// Builds src/index.jsx into ../dist/index.umd.js, the script the FiftyOne App loads for this plugin.
// React, recoil and FiftyOne's own packages are not bundled: the App exposes them as globals.
import { resolve } from "node:path";
import { defineConfig } from "vite";

const GLOBALS = {
  react: "React",
  recoil: "recoil",
  "@fiftyone/state": "__fos__",
  "@fiftyone/operators": "__foo__",
  "@fiftyone/plugins": "__fop__",
  "@fiftyone/playback": "__fopb__",
};

export default defineConfig({
  esbuild: { jsxFactory: "React.createElement", jsxFragment: "React.Fragment" },
  define: { "process.env.NODE_ENV": '"production"' },
  build: {
    outDir: resolve(__dirname, "../dist"),
    emptyOutDir: true,
    minify: "esbuild", // small, and a built file that does not repeat its source line for line
    lib: {
      entry: resolve(__dirname, "src/index.jsx"),
      name: "GymdataAnnotate",
      formats: ["umd"],
      fileName: () => "index.umd.js",
    },
    rollupOptions: { external: Object.keys(GLOBALS), output: { globals: GLOBALS } },
  },
});
