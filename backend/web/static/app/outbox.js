/* The caregiver's actions that must reach the server even from a stairwell with no signal (出发, 签到, 签退, the
   visit's photos): each is written to the phone's IndexedDB first, with the time it was tapped (`at`) and its own
   Idempotency-Key, then sent in the order tapped. With no network the queue waits and is replayed when the network
   returns (the `online` event, and every few seconds); a replay the server already took is answered as the first
   time (the key), so nothing is done twice, and the visit keeps the phone's times, not the replay's. */
"use strict";

const Outbox = {
  store: "outbox",
  onSent: new Set(), // (item, outcome): an action left the queue, sent or refused
  onChange: new Set(), // (): the queue changed
  running: null,
  database: null,

  open() {
    if (!this.database) {
      this.database = new Promise((resolve, reject) => {
        const opening = indexedDB.open("eldercare-app", 1);
        opening.onupgradeneeded = () => opening.result.createObjectStore(this.store, { keyPath: "seq", autoIncrement: true });
        opening.onsuccess = () => resolve(opening.result);
        opening.onerror = () => reject(opening.error);
      });
    }
    return this.database;
  },

  async run(mode, work) {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(this.store, mode);
      const request = work(transaction.objectStore(this.store));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
    });
  },

  /** This account's waiting actions, oldest first (another account's, on a shared phone, wait for it). */
  async pending() {
    const all = await this.run("readonly", (store) => store.getAll());
    return all.filter((item) => item.owner === Session.me.id).sort((a, b) => a.seq - b.seq);
  },

  /**
   * Queue an action and try to send the queue. `action`: {path, label, requestId, json} or {path, label,
   * requestId, parts: [[name, value, filename?]]} (a photo). Resolves with its outcome: {status: "sent", data},
   * {status: "refused", error} (the server said no: shown to the caregiver, not retried) or {status: "queued"}.
   */
  async send(action) {
    const item = { ...action, owner: Session.me.id, key: newKey(), tapped: new Date().toISOString() };
    item.seq = await this.run("readwrite", (store) => store.add(item));
    this.changed();
    const outcomes = await this.flush();
    return outcomes.get(item.seq) || { status: "queued" };
  },

  /** Send what waits, in order, until the queue is empty or the network is gone; the outcome of each sent. */
  async flush() {
    while (this.running) await this.running.catch(() => null);
    this.running = this.drain();
    try {
      return await this.running;
    } finally {
      this.running = null;
    }
  },

  async drain() {
    const outcomes = new Map();
    for (;;) {
      const waiting = await this.pending();
      if (!waiting.length) return outcomes;
      for (const item of waiting) {
        const outcome = await this.deliver(item);
        if (outcome === null) return outcomes; // no network, or not now: everything after it waits too
        await this.run("readwrite", (store) => store.delete(item.seq));
        outcomes.set(item.seq, outcome);
        for (const listener of this.onSent) listener(item, outcome);
        this.changed();
      }
    }
  },

  /** One action to the server: its outcome, or null to try again later (no network, signed out, busy). */
  async deliver(item) {
    if (!Session.token) return null;
    const headers = {
      Authorization: `Bearer ${Session.token}`,
      "Idempotency-Key": item.key,
      "Accept-Language": LANG === "en" ? "en" : "zh-CN",
    };
    let body;
    if (item.parts) {
      body = new FormData();
      for (const [name, value, filename] of item.parts) {
        if (filename) body.append(name, value, filename);
        else body.append(name, value);
      }
    } else {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(item.json || {});
    }
    let response;
    try {
      response = await fetch(item.path, { method: "POST", headers, body });
    } catch (_) {
      return null; // no network
    }
    let data = null;
    try { data = await response.json(); } catch (_) { /* no body */ }
    if (response.status === 401) {
      this.signInAgain();
      return null; // kept: sent once the caregiver has signed in again
    }
    const code = data && data.error ? data.error.code : null;
    if (response.status >= 500 || response.status === 429 || code === "idempotency_in_progress") return null;
    if (response.ok) return { status: "sent", data };
    return { status: "refused", error: data && data.error ? data.error : { code: `http_${response.status}`, message: T("common.error") } };
  },

  signInAgain() {
    toast(T("session.again"), "error");
    setTimeout(() => Session.signOut(), 2500);
  },

  changed() {
    for (const listener of this.onChange) listener();
  },

  /** Replay whenever the network returns, and every few seconds while something waits. */
  start() {
    window.addEventListener("online", () => this.flush());
    setInterval(async () => {
      if ((await this.pending()).length) this.flush();
    }, 5000);
    return this.flush();
  },
};
