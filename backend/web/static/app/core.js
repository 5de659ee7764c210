/* Shared by the phone apps: installable (service worker), online or not, the last screen kept for offline, the
   phone's position, reading aloud. Loaded after common.js. */
"use strict";

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch((error) => console.warn(error));
}

/** The banner that says the phone has no network (actions then wait on the phone). */
const Network = {
  listeners: new Set(),
  get online() { return navigator.onLine; },
  show() {
    const banner = document.getElementById("offline");
    if (banner) banner.hidden = navigator.onLine;
    for (const listener of this.listeners) listener(navigator.onLine);
  },
};
window.addEventListener("online", () => Network.show());
window.addEventListener("offline", () => Network.show());
document.addEventListener("DOMContentLoaded", () => Network.show());

/** What the app last read, kept on the phone per account, so that a screen opens with no signal. */
const Kept = {
  key(name) { return `eldercare.kept.${Session.me ? Session.me.id : "?"}.${name}`; },
  save(name, value) {
    try { localStorage.setItem(this.key(name), JSON.stringify(value)); } catch (_) { /* full: keep nothing */ }
  },
  load(name) {
    try { return JSON.parse(localStorage.getItem(this.key(name))); } catch (_) { return null; }
  },
  /** Forget everything kept (signing out: the elders' addresses leave the phone with the account). */
  clear() {
    for (const key of Object.keys(localStorage)) if (key.startsWith("eldercare.kept.")) localStorage.removeItem(key);
  },
};

/** Read from the API, or, with no network, what was read last time (null if never). */
async function readKept(name, path) {
  try {
    const value = await api(path);
    Kept.save(name, value);
    return value;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    return Kept.load(name);
  }
}

const signOutOnly = Session.signOut.bind(Session);
Session.signOut = () => {
  Kept.clear();
  signOutOnly();
};

/** The phone's position (WGS-84, as browsers give it), with its accuracy in metres. */
function position() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) { reject(new Error("no geolocation")); return; }
    navigator.geolocation.getCurrentPosition(
      (found) => resolve({ lat: found.coords.latitude, lon: found.coords.longitude, accuracy_m: found.coords.accuracy }),
      reject,
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
    );
  });
}

/** Say it aloud where the browser can (the elder's app); nothing otherwise. */
const Voice = {
  get available() { return "speechSynthesis" in window; },
  say(text) {
    if (!this.available || !text) return;
    speechSynthesis.cancel();
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = LANG === "en" ? "en-GB" : "zh-CN";
    utterance.rate = 0.9;
    speechSynthesis.speak(utterance);
  },
};

/** A new random key for an action, so that sending it twice does it once (Idempotency-Key). */
function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** 10:00–11:00 in Suzhou time, or null without a window. */
function windowText(start, end) {
  if (!start) return null;
  return end ? `${Fmt.time(start)}–${Fmt.time(end)}` : Fmt.time(start);
}

/** Switch the screen to one section of the page, the others hidden. */
function showOnly(sections, visible) {
  for (const id of sections) document.getElementById(id).hidden = id !== visible;
  window.scrollTo(0, 0);
}
