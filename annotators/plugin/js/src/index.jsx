// gymdata's FiftyOne plugin UI: registers the "Gym keys" panel of the App's sample view, and the
// component that tells the Python "Gym labels" panel which view of a take the App shows.
import { registerComponent, PluginComponentType } from "@fiftyone/plugins";
import GymKeys from "./GymKeys";
import SliceFollower from "./SliceFollower";

registerComponent({
  name: "GymKeys",
  label: "Gym keys",
  component: GymKeys,
  type: PluginComponentType.Panel,
  activator: () => true,
  panelOptions: { surfaces: "modal", helpMarkdown: "Keyboard-first labelling with a timeline (keys: see the panel)" },
});

registerComponent({
  name: "GymSliceFollower",
  label: "Gym slice follower",
  component: SliceFollower,
  type: PluginComponentType.Component,
  activator: () => true,
});
