// The edge's live event stream (WS /api/v1/stream) with resume: every frame carries a
// monotonically increasing id; we remember the last one we applied and reconnect with
// ?after=<it>, so after a network blip or an edge restart nothing is missed. Frames with an
// id we already applied are dropped, so nothing is applied twice either.
//
// Screens keep a snapshot (tickets, board, menu) fetched over HTTP in `prepare()` *before*
// each connection: events carry full records, and every event after the cursor is then
// applied on top of that snapshot, so the screen always ends at the edge's latest state.
// A snapshot that says which live event it reflects (prepare() returns that id) sets the
// cursor: the stream then resumes right after it. Without that, events already contained in
// the snapshot are replayed over it, and the screen steps back in time until the replay
// catches up (a ticket bumped while the screen was away reappears for a moment).
// The edge sends {"type":"heartbeat","latest_id":N} when idle; a link silent for longer
// than WATCHDOG_MS is treated as dead and reopened.
import { reachability } from "./status.js";

const WATCHDOG_MS = 25000;
const HEARTBEAT_S = 5;

export class LiveStream {
  /**
   * opts: token, topics (array), station, after (cursor to start from), onEvent(event),
   * prepare() – async, awaited before every connection (fetch the snapshot here); it may
   *   return the id of the last live event the snapshot reflects, which becomes the cursor,
   * onOpen({reconnect}) – called on every (re)connect before any frame of that connection.
   */
  constructor(opts) {
    this.opts = opts;
    this.lastId = opts.after ?? 0;
    this.attempt = 0;
    this.ws = null;
    this.closed = false;
    this.opens = 0;
  }

  start() { this.connect(); return this; }

  stop() {
    this.closed = true;
    this.ws?.close();
  }

  url() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const q = new URLSearchParams({ token: this.opts.token, topics: this.opts.topics.join(","),
      after: String(this.lastId), heartbeat: String(HEARTBEAT_S) });
    if (this.opts.station) q.set("station", this.opts.station);
    return `${proto}://${location.host}/api/v1/stream?${q}`;
  }

  async connect() {
    if (this.closed) return;
    if (this.opts.prepare) {
      try {
        const cursor = await this.opts.prepare();
        // The snapshot is the truth up to its cursor, even one lower than ours (a restored
        // edge): resume right after it, with nothing replayed over it.
        if (Number.isInteger(cursor) && cursor >= 0) this.lastId = cursor;
      } catch (err) {
        reachability.report(false);
        this.retryLater();
        return;
      }
    }
    const ws = new WebSocket(this.url());
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      reachability.report(true);
      this.opts.onOpen?.({ reconnect: this.opens++ > 0 });
    };
    let watchdog = setTimeout(() => ws.close(), WATCHDOG_MS);
    ws.onmessage = (msg) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => ws.close(), WATCHDOG_MS);
      let frame;
      try { frame = JSON.parse(msg.data); } catch { return; }
      const events = Array.isArray(frame) ? frame : [frame];
      for (const ev of events) {
        if (typeof ev?.id !== "number") {
          // Heartbeat: the edge's cursor for us moved past events filtered out for this
          // screen; resuming from it is safe and keeps the replay short.
          if (ev?.type === "heartbeat" && ev.latest_id > this.lastId) this.lastId = ev.latest_id;
          // Reset: the edge cannot replay from our cursor (events pruned, or a restored edge
          // whose ids are lower). Take its cursor and reconnect: prepare() reloads the snapshot.
          if (ev?.type === "reset" && typeof ev.latest_id === "number") {
            this.lastId = ev.latest_id;
            ws.close();
            return;
          }
          continue;
        }
        if (ev.id <= this.lastId) continue; // already applied before a reconnect
        this.lastId = ev.id;
        try { this.opts.onEvent(ev); } catch (err) { console.error("stream handler failed", err); }
      }
    };
    ws.onclose = (ev) => {
      clearTimeout(watchdog);
      if (this.ws !== ws || this.closed) return;
      // 44xx: the edge refused us (bad token, bad query); retrying fast will not help.
      this.refused = ev.code >= 4400 && ev.code < 4500;
      // A refused socket may be an auth problem on a reachable edge; the health poll and the
      // HTTP calls in prepare() decide reachability, not this.
      this.retryLater();
    };
    ws.onerror = () => { /* onclose follows and schedules the reconnect */ };
  }

  // Back off 0.3 s, 0.6 s, … up to 3 s: quick after a blip, gentle while the edge is down
  // (10 s after a refusal).
  retryLater() {
    const delay = this.refused ? 10000 : Math.min(300 * 2 ** this.attempt, 3000);
    this.attempt += 1;
    this.refused = false;
    setTimeout(() => this.connect(), delay);
  }
}
