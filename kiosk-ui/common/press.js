// A tap is lost when the screen is drawn anew between finger down and finger up: the button
// under the finger is replaced, and the browser sends the click to what both had in common,
// not to a button. Screens that redraw on live events (a new ticket, a new order) draw through
// whenReleased(): while a finger is down the drawing waits, then it follows the click.
const PRESS_HOLD_MS = 1500; // a press nobody released (the finger slid off the screen)
let pressTimer = null;
const waiting = new Map(); // a draw function -> the arguments of its latest call

addEventListener("pointerdown", () => {
  clearTimeout(pressTimer);
  pressTimer = setTimeout(release, PRESS_HOLD_MS);
}, true);
for (const type of ["pointerup", "pointercancel"]) addEventListener(type, () => { if (pressTimer) release(); }, true);

function release() {
  clearTimeout(pressTimer);
  pressTimer = null;
  const due = [...waiting];
  waiting.clear();
  if (due.length) setTimeout(() => { for (const [draw, args] of due) draw(...args); }, 0); // after the click
}

/** ``draw``, deferred while a pointer is down on the page (the latest call, once released). */
export function whenReleased(draw) {
  return (...args) => { if (pressTimer) waiting.set(draw, args); else draw(...args); };
}
