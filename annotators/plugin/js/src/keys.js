// The key map of the "Gym keys" panel: one place, shown in the panel's help line and listed in the
// README's "Labelling walkthrough" (tests/test_docs.py checks that every key there is bound here).
// Keys are matched on KeyboardEvent.key (letters case-insensitively, Shift given separately).

export const KEYMAP = [
  { key: "Space", action: "play / pause" },
  { key: ",", action: "previous frame (the App's own key)" },
  { key: ".", action: "next frame (the App's own key)" },
  { key: "[", action: "slower (0.25x steps down to 0.25x)" },
  { key: "]", action: "faster (up to 2x)" },
  { key: "A (hold)", action: "paint Active on every frame played while held" },
  { key: "R (hold)", action: "paint Resting on every frame played while held" },
  { key: "I", action: "start of the selected repetition at the playhead (no selection: remember an in-point)" },
  { key: "O", action: "end of the selected repetition at the playhead (after an in-point: new repetition)" },
  { key: "N", action: "new repetition at the playhead" },
  { key: "Delete", action: "delete the selected repetition or penalty (Backspace too)" },
  { key: "G", action: "accept the counter's suggestions (asks the counter first if needed)" },
  { key: "1-9, 0", action: "choose criterion 1-10" },
  { key: "P", action: "pass the chosen criterion, go to the next" },
  { key: "F", action: "fail the chosen criterion, go to the next" },
  { key: "U", action: "unsure for the chosen criterion, go to the next" },
  { key: "Shift+P", action: "pass every criterion you have not judged yet" },
  { key: "Q", action: "type the quality score (Enter saves)" },
  { key: "X", action: "penalty over the selected repetition (or the one at the playhead)" },
  { key: "V", action: "next view of the take (take, frontal, lateral)" },
  { key: "Shift+N", action: "next clip to label (the queue)" },
  { key: "Escape", action: "clear the selection / close a prompt (nothing selected: close the clip)" },
];

// KeyboardEvent.key values each entry stands for (what the handler in GymKeys.jsx switches on).
export const BOUND = {
  Space: [" "],
  ",": [","],
  ".": ["."],
  "[": ["["],
  "]": ["]"],
  "A (hold)": ["a"],
  "R (hold)": ["r"],
  I: ["i"],
  O: ["o"],
  N: ["n"],
  Delete: ["Delete", "Backspace"],
  G: ["g"],
  "1-9, 0": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"],
  P: ["p"],
  F: ["f"],
  U: ["u"],
  "Shift+P": ["P"],
  Q: ["q"],
  X: ["x"],
  V: ["v"],
  "Shift+N": ["N"],
  Escape: ["Escape"],
};
