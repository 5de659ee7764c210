/* Shared by every page, the staff's and the phone apps': words, formats in Chinese conventions, the API with the
   signed-in token, the live socket. A page says where its sign-in lives (`data-signin`) and whether the token
   stays on the device (`data-store="local"`: the phone apps, signed in once) or with the tab (the staff's desks). */
"use strict";

const Words = JSON.parse(document.getElementById("catalogue").textContent);
const LANG = document.body.dataset.lang === "en" ? "en" : "zh";
const LOCALE = LANG === "en" ? "en-GB" : "zh-CN";
const TZ = "Asia/Shanghai";
const SIGN_IN = document.body.dataset.signin || "/web/";
const TOKENS = document.body.dataset.store === "local" ? localStorage : sessionStorage;

/** A message of the catalogue, with {names} filled in. */
function T(key, values) {
  let text = Words[key] ?? key;
  for (const [name, value] of Object.entries(values || {})) text = text.replaceAll(`{${name}}`, value);
  return text;
}

const Fmt = {
  number(n, digits = 0) {
    if (n === null || n === undefined) return "–";
    return new Intl.NumberFormat(LOCALE, { maximumFractionDigits: digits }).format(n);
  },
  percent(share) {
    if (share === null || share === undefined) return "–";
    return new Intl.NumberFormat(LOCALE, { style: "percent", maximumFractionDigits: 1 }).format(share);
  },
  /** ¥1,234.50: an amount as the API gives it (`<name>_yuan`, yuan with two decimals as a string), exactly. */
  yuan(text) {
    if (text === null || text === undefined) return "–";
    const [whole, cents = ""] = String(text).split(".");
    const sign = whole.startsWith("-") ? "-" : "";
    const grouped = whole.replace("-", "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return `${sign}¥${grouped}.${cents.padEnd(2, "0")}`;
  },
  dateTime(iso) {
    if (!iso) return "–";
    return new Intl.DateTimeFormat(LOCALE, {
      timeZone: TZ, year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false,
    }).format(new Date(iso));
  },
  time(iso) {
    if (!iso) return "–";
    return new Intl.DateTimeFormat(LOCALE, { timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false })
      .format(new Date(iso));
  },
  day(isoDate) {
    const [y, m, d] = isoDate.split("-").map(Number);
    return new Intl.DateTimeFormat(LOCALE, { timeZone: "UTC", month: "numeric", day: "numeric" })
      .format(new Date(Date.UTC(y, m - 1, d)));
  },
  /** 3 分 12 秒, 1 小时 5 分: how long, the way people say it. */
  duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.max(0, Math.round(seconds));
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return T("duration.d", { d, h });
    if (h) return T("duration.h", { h, m });
    if (m) return T("duration.m", { m, s: s % 60 });
    return T("duration.s", { s });
  },
  /** Mainland numbers grouped 3-4-4 (138 1234 5678); landlines with their area code (0512-6512 3456). */
  phone(e164) {
    if (!e164) return "–";
    const digits = e164.replace(/[^0-9]/g, "");
    const national = digits.startsWith("86") && digits.length > 11 ? digits.slice(2) : digits;
    if (/^1[3-9][0-9]{9}$/.test(national)) return `${national.slice(0, 3)} ${national.slice(3, 7)} ${national.slice(7)}`;
    if (/^[2-9][0-9]{9,10}$/.test(national)) {
      const code = /^(10|2[0-9])/.test(national) ? national.slice(0, 2) : national.slice(0, 3);
      const rest = national.slice(code.length);
      return `0${code}-${rest.slice(0, rest.length - 4)} ${rest.slice(-4)}`;
    }
    return e164;
  },
  distance(m) {
    if (m === null || m === undefined) return "–";
    if (m < 1000) return `${Math.round(m)} ${LANG === "en" ? "m" : "米"}`;
    return `${Fmt.number(m / 1000, 1)} ${LANG === "en" ? "km" : "公里"}`;
  },
};

/** Build an element: el("td", {class: "x"}, "text", child). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 8000 : 4000);
}

/** Call later, once, however often asked within `ms` (many events, one reload). */
function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

const Session = {
  get token() { return TOKENS.getItem("eldercare.token"); },
  set token(value) {
    if (value) TOKENS.setItem("eldercare.token", value);
    else TOKENS.removeItem("eldercare.token");
  },
  me: null,
  sockets: new Set(), // the page's live sockets, told of each renewed token
  /** Leave: the server ends every token of the account (and its sockets), then back to the sign-in page. */
  async logOut() {
    try {
      if (this.token) await fetch("/api/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${this.token}` } });
    } finally {
      this.signOut();
    }
  },
  signOut() {
    this.token = null;
    location.assign(SIGN_IN);
  },
  /** Seconds since the token was issued (from its own claims; no secret needed to read them). */
  tokenAge() {
    try {
      const claims = JSON.parse(atob(this.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return Date.now() / 1000 - claims.iat;
    } catch (_) {
      return Infinity;
    }
  },
  async renew() {
    const fresh = await api("/api/v1/auth/refresh", { method: "POST" });
    this.token = fresh.access_token;
    for (const live of this.sockets) live.renew();
  },
  /** Tokens are short: while the page is open, a fresh one every few minutes (the server caps a sign-in's age). */
  keepAlive(minutes = 10) {
    const renewIfOld = async () => {
      if (!this.token || !navigator.onLine || this.tokenAge() < minutes * 60) return;
      try {
        await this.renew();
      } catch (error) {
        if (error instanceof ApiError) failed(error); // offline is not a failure: the next try renews it
      }
    };
    setInterval(renewIfOld, 60 * 1000);
    // A phone wakes the page after a while in the pocket, or finds its network again: renew at once.
    document.addEventListener("visibilitychange", () => { if (!document.hidden) renewIfOld(); });
    window.addEventListener("online", renewIfOld);
  },
  /** The signed-in user, or off to the sign-in page (coming back here afterwards). */
  async require(roles) {
    if (!this.token) {
      location.assign(`${SIGN_IN}?next=${encodeURIComponent(location.pathname + location.search)}`);
      throw new Leaving("not signed in");
    }
    this.me = await api("/api/v1/users/me");
    const who = document.getElementById("who");
    if (who) who.textContent = this.me.display_name || this.me.username;
    for (const link of document.querySelectorAll("nav [data-roles]")) {
      link.hidden = !link.dataset.roles.split(" ").includes(this.me.role);
    }
    if (roles && !roles.includes(this.me.role)) {
      // Off to the role's own page; never back to this one (a loop), nor nowhere: the sign-in says where to go.
      const home = homeOf(this.me.role);
      if (home && home !== location.pathname) location.assign(home);
      else this.signOut();
      throw new Leaving("wrong page for this role");
    }
    this.keepAlive();
    return this.me;
  },
};

/** Where each role works: a staff page at a desk (`/web/`) or a phone app (`/app/`). Each page admits its roles. */
const HOMES = {
  admin: "/web/bureau",
  operator: "/web/console",
  community_staff: "/web/dashboard",
  provider_admin: "/web/provider",
  caregiver: "/app/caregiver",
  elder: "/app/elder",
  family: "/app/elder",
};

/** The role's own page, or null for a role no page admits. */
function homeOf(role) {
  return HOMES[role] || null;
}

/** The page is being left for another (the sign-in, the role's own page): nothing went wrong, nothing to report. */
class Leaving extends Error {}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The API, with the token and the page's language; errors carry the server's code and message. A `body` that is
 * FormData goes as multipart (a photo); `headers` adds to them (an Idempotency-Key). */
async function api(path, { method = "GET", body, form, raw = false, headers: extra = {} } = {}) {
  const headers = { "Accept-Language": LANG === "en" ? "en" : "zh-CN", ...extra };
  if (Session.token) headers.Authorization = `Bearer ${Session.token}`;
  let payload;
  if (form) payload = new URLSearchParams(form);
  else if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload });
  if (response.status === 401 && !path.endsWith("/auth/token")) {
    Session.signOut();
    throw new ApiError(401, "unauthenticated", "");
  }
  if (!response.ok) {
    let code = "http_" + response.status, message = T("common.error");
    try {
      const data = await response.json();
      if (data.error) ({ code, message } = data.error);
      else if (Array.isArray(data.detail)) message = data.detail.map((d) => d.msg).join("; ");
    } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, code, message);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

/** Report an API failure to the person, in their language. */
function failed(error) {
  if (error instanceof Leaving || (error instanceof ApiError && error.status === 401)) return;
  toast(error.message || T("common.error"), "error");
  console.error(error);
}

/**
 * The live socket of contract v1: auth first, then subscriptions; after a drop it reconnects and asks for what
 * it missed with `since`. `onEvent(channel, event, data)` is called for every event.
 */
// What the socket says when the sign-in is over (expired, signed out elsewhere, access changed).
const SIGNED_OUT = ["invalid_token", "not_authenticated", "token_revoked", "token_expired", "session_ended"];

class Live {
  /** `onSubscribed(channel)`, when given, is told each time a subscription (re)starts: a moment to re-read. */
  constructor(onEvent, onSubscribed) {
    this.onEvent = onEvent;
    this.onSubscribed = onSubscribed || (() => {});
    this.channels = new Map(); // channel -> last seq seen (null: none yet)
    this.socket = null;
    this.backoff = 500;
    Session.sockets.add(this);
    this.connect();
  }
  /** Carry the page's renewed token over to the open socket (same account: the socket stays). */
  renew() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "auth", token: Session.token }));
    }
  }
  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
    this.socket = socket;
    socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "auth", token: Session.token })));
    socket.addEventListener("message", (message) => this.receive(JSON.parse(message.data)));
    socket.addEventListener("close", () => {
      this.indicate(false);
      if (this.socket !== socket) return;
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 15000);
    });
    this.ping = setInterval(() => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping" }));
    }, 25000);
    socket.addEventListener("close", () => clearInterval(this.ping));
  }
  receive(message) {
    if (message.type === "auth_ok" && message.renewed) {
      return; // the same sign-in, a fresh token: subscriptions carry on
    } else if (message.type === "auth_ok") {
      this.backoff = 500;
      this.indicate(true);
      for (const [channel, since] of this.channels) this.send(channel, since);
    } else if (message.type === "subscribed") {
      if (this.channels.get(message.channel) == null) this.channels.set(message.channel, message.seq);
      this.onSubscribed(message.channel);
    } else if (message.type === "event") {
      this.channels.set(message.channel, message.seq);
      this.onEvent(message.channel, message.event, message.data || {});
    } else if (message.type === "unsubscribed" && message.reason) {
      this.channels.delete(message.channel); // no longer allowed (a consent or an offer ended): not asked again
    } else if (message.type === "error" && SIGNED_OUT.includes(message.code)) {
      Session.signOut(); // the sign-in has lapsed: back to the sign-in page rather than reconnecting forever
    }
  }
  send(channel, since) {
    const frame = { type: "subscribe", channel };
    if (since !== null && since !== undefined) frame.since = since;
    this.socket.send(JSON.stringify(frame));
  }
  /** Listen on a channel; `since` (0 for a channel just born, such as a new order's) replays what came before. */
  subscribe(channel, since = null) {
    if (this.channels.has(channel)) return;
    this.channels.set(channel, since);
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.send(channel, since);
  }
  unsubscribe(channel) {
    this.channels.delete(channel);
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "unsubscribe", channel }));
    }
  }
  indicate(on) {
    const badge = document.getElementById("live");
    if (!badge) return;
    badge.dataset.state = on ? "on" : "off";
    badge.textContent = T(on ? "live.on" : "live.off");
  }
}

function statusBadge(status) {
  return el("span", { class: `badge status-${status}`, dataset: { status } }, T(`status.${status}`));
}

function priorityBadge(priority) {
  return el("span", { class: `badge priority-${priority}` }, T(`priority.${priority}`));
}

/* The breach prediction's badge: 「预计 HH:MM 超时」, with how likely and which time (to accept, to arrive). */
function breachBadge(o) {
  if (!o.predicted_breach_at) return null;
  const percent = Math.round((o.breach_probability || 0) * 100);
  const sla = T(`breach.sla.${o.breach_sla || "accept"}`);
  return el("span", { class: `breach breach-${o.breach_risk || "high"}`, title: T("breach.title", { percent, sla }) },
    T("breach.badge", { time: Fmt.time(o.predicted_breach_at) }));
}

document.addEventListener("DOMContentLoaded", () => {
  const logout = document.getElementById("logout");
  if (logout) logout.addEventListener("click", () => Session.logOut());
});
