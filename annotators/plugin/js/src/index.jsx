// gymdata's FiftyOne plugin UI: registers the "Gym keys" panel of the App's sample view.
import { registerComponent, PluginComponentType } from "@fiftyone/plugins";
import GymKeys from "./GymKeys";

registerComponent({
  name: "GymKeys",
  label: "Gym keys",
  component: GymKeys,
  type: PluginComponentType.Panel,
  activator: () => true,
  panelOptions: { surfaces: "modal", helpMarkdown: "Keyboard-first labelling with a timeline (keys: see the panel)" },
});
