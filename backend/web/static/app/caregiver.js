/* The caregiver's app (助老员): shift, offers live with their countdown, today's visits in order with navigation,
   and the visit itself (出发, 签到 with the phone's position, photos, the elder's confirmation, 签退: visit.js), which
   works with no signal: those actions go through the Outbox. */
"use strict";

const App = {
  me: null, // the caregiver's record (/mobile/v1/me)
  offers: [],
  today: { stops: [] },
  services: new Map(), // code -> service type (names, what proof it needs)
  signature: null, // the signature pad of the check-out dialog
  given: {}, // order id -> the proof kinds sent from this phone (the order shows them once it has its visit)
};
const NEXT = { accepted: "en_route", en_route: "in_service", in_service: "completed" }; // what each action leads to
const ACTIONS = {
  "en-route": { label: "cg.enroute", leadsTo: "en_route" },
  "check-in": { label: "cg.checkin", leadsTo: "in_service" },
  "check-out": { label: "cg.checkout", leadsTo: "completed" },
  proofs: { label: null, leadsTo: null },
};

document.addEventListener("DOMContentLoaded", async () => {
  try {
    await Session.require(["caregiver"]);
  } catch (_) {
    return;
  }
  bindTabs();
  bindForms();
  Outbox.onChange.add(() => showPending());
  Outbox.onSent.add((item, outcome) => afterSent(item, outcome));
  Network.listeners.add((online) => { if (online) refresh(); });
  const types = await readKept("service-types", "/api/v1/service-types").catch(failed);
  for (const type of types || []) App.services.set(type.code, type);
  App.given = Kept.load("given") || {};
  await refresh();
  new Live(onEvent, () => refresh()).subscribe(`caregiver:${App.me.id}`);
  setInterval(tick, 1000);
  await Outbox.start();
  showPending();
});

async function refresh() {
  try {
    App.me = (await readKept("me", "/mobile/v1/me")) || App.me;
    App.offers = (await readKept("offers", "/mobile/v1/offers")) || [];
    App.today = newest((await readKept("today", "/mobile/v1/today")) || { stops: [] }, App.today);
    Kept.save("today", App.today);
  } catch (error) {
    failed(error);
  }
  if (!App.me) return;
  showShift();
  showOffers();
  await showToday();
}

const reload = debounce(refresh, 200);

/** Today as read, but each order as the phone last knew it when that is newer (an answer to an action of hers
 * can arrive while an older read is still on its way; kept, the older read would undo it on an offline screen). */
function newest(read, known) {
  const mine = new Map((known.stops || []).map((stop) => [stop.order.id, stop.order]));
  for (const stop of read.stops || []) {
    const had = mine.get(stop.order.id);
    if (had && new Date(had.updated_at) > new Date(stop.order.updated_at)) stop.order = had;
  }
  return read;
}

function onEvent(_channel, event, data) {
  if (event === "offer.created") {
    reload();
    if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
  } else if (event === "plan.published") {
    // A re-plan of the day says why her route changed (a colleague's sick call, a shorter way round).
    const why = LANG === "en" ? data.reason_en : data.reason;
    toast(why ? T("cg.route.replanned", { why }) : T("cg.route.published"));
    reload();
  } else {
    reload(); // an offer lapsed or went to someone else, an order moved, the crew changed
  }
}

/* The shift and the sick call */

function showShift() {
  document.getElementById("who").textContent = App.me.name;
  document.getElementById("shift-state").textContent = T(App.me.on_shift ? "cg.onshift" : "cg.offshift");
  const toggle = document.getElementById("shift-toggle");
  toggle.textContent = T(App.me.on_shift ? "cg.stop" : "cg.start");
  toggle.className = App.me.on_shift ? "" : "primary";
}

function bindForms() {
  document.getElementById("shift-toggle").addEventListener("click", async () => {
    const body = { on_shift: !App.me.on_shift };
    if (body.on_shift) {
      const here = await position().catch(() => null);
      if (here) body.location = { lat: here.lat, lon: here.lon };
    }
    try {
      App.me = await api("/mobile/v1/shift", { method: "POST", body });
      showShift();
    } catch (error) {
      failed(error);
    }
  });
  document.getElementById("sick-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const until = new Date(form.get("until"));
    try {
      const done = await api("/mobile/v1/absence", {
        method: "POST", body: { until: until.toISOString(), reason: form.get("reason") || null },
      });
      toast(T("cg.sick.done", { until: Fmt.dateTime(done.absent_until) }));
      await refresh();
    } catch (error) {
      failed(error);
    }
  });
  bindDecline();
  bindCheckout();
}

function bindTabs() {
  for (const button of document.querySelectorAll(".tabbar [data-tab]")) {
    button.addEventListener("click", () => openTab(button.dataset.tab));
  }
}

function openTab(name) {
  for (const button of document.querySelectorAll(".tabbar [data-tab]")) {
    if (button.dataset.tab === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  showOnly(["tab-offers", "tab-today", "tab-me"], `tab-${name}`);
}

/* Offers */

function showOffers() {
  const list = document.getElementById("offers");
  const open = App.offers.filter((o) => o.status === "pending");
  list.replaceChildren(...open.map(offerCard));
  document.getElementById("offers-none").hidden = open.length > 0;
  const count = document.getElementById("offers-count");
  count.textContent = String(open.length);
  count.hidden = open.length === 0;
  tick();
}

function offerCard(offer) {
  const partner = offer.caregivers_needed > 1
    ? el("p", { class: "partner" }, offer.partner ? T("cg.offer.partner", { name: offer.partner.name }) : T("cg.offer.partner_wait"))
    : null;
  const when = windowText(offer.window_start, offer.window_end);
  return el(
    "li",
    { class: "offer", id: `offer-${offer.id}`, dataset: { priority: offer.priority } },
    el("div", { class: "head" },
      el("span", { class: "service" }, offer.service_name || offer.service_type),
      offer.priority !== "normal" ? priorityBadge(offer.priority) : null),
    el("p", { class: "elder" }, el("strong", {}, offer.elder_name || ""), offer.area ? ` · ${offer.area}` : ""),
    el("p", {}, when ? T("cg.offer.window", { window: when }) : T("cg.offer.asap"),
      " · ", T("cg.offer.distance", { distance: Fmt.distance(offer.distance_m) })),
    partner,
    el("p", { class: "why" }, offer.explanation),
    el("p", { class: "countdown", dataset: { expires: offer.expires_at }, role: "timer" }),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "primary", onclick: () => accept(offer) }, T("cg.accept")),
      el("button", { type: "button", onclick: () => askDecline(offer) }, T("cg.decline"))),
  );
}

/** Every second: how long each offer has left (and lapsed ones say so). */
function tick() {
  for (const node of document.querySelectorAll(".countdown[data-expires]")) {
    const left = (new Date(node.dataset.expires) - Date.now()) / 1000;
    node.textContent = left > 0 ? T("cg.offer.left", { left: Fmt.duration(left) }) : T("cg.offer.lapsed");
    for (const button of node.parentElement.querySelectorAll(".actions button")) button.disabled = left <= 0;
  }
}

async function accept(offer) {
  try {
    const order = await api(`/mobile/v1/offers/${offer.id}/accept`, { method: "POST" });
    toast(T("cg.accepted", { elder: order.destination ? order.destination.elder_name : offer.elder_name }));
    await refresh();
    openTab("today");
  } catch (error) {
    failed(error);
    await refresh();
  }
}

let declining = null;

function askDecline(offer) {
  declining = offer;
  document.getElementById("decline-dialog").showModal();
}

function bindDecline() {
  const dialog = document.getElementById("decline-dialog");
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "decline" || !declining) return;
    const reason = new FormData(document.getElementById("decline-form")).get("reason");
    const offer = declining;
    declining = null;
    try {
      await api(`/mobile/v1/offers/${offer.id}/decline`, { method: "POST", body: { reason } });
      toast(T("cg.declined"));
    } catch (error) {
      failed(error);
    }
    await refresh();
  });
}

/* Today's visits */

async function showToday() {
  const waiting = await Outbox.pending();
  const stops = App.today.stops || [];
  document.getElementById("stops").replaceChildren(...stops.map((stop, n) => stopCard(stop, n + 1, waiting)));
  document.getElementById("today-none").hidden = stops.length > 0;
  drawRoute(stops);
}

/** The order's state as the caregiver last made it: the server's, moved on by actions still waiting to go. */
function effectiveStatus(order, waiting) {
  let status = order.status;
  for (const item of waiting) {
    if (item.requestId === order.id && ACTIONS[item.kind].leadsTo) status = ACTIONS[item.kind].leadsTo;
  }
  return status;
}

function stopCard(stop, number, waiting) {
  const order = stop.order;
  const status = effectiveStatus(order, waiting);
  const mine = waiting.filter((item) => item.requestId === order.id);
  const where = order.destination;
  return el(
    "li",
    { class: "stop", id: `stop-${order.id}`, dataset: { status, priority: order.priority } },
    el("div", { class: "head" },
      el("span", { class: "service" }, `${number}. ${serviceName(order.service_type)}`),
      mine.some((item) => ACTIONS[item.kind].leadsTo) ? el("span", { class: "badge waiting" }, T("cg.pending", { count: mine.length })) : statusBadge(status)),
    stop.planned_arrival ? el("p", {}, T("cg.stop.planned", { time: Fmt.time(stop.planned_arrival) })) : null,
    where ? el("p", {}, el("strong", {}, where.elder_name)) : null,
    where ? el("p", { class: "address" }, `${T("cg.elder.address")}：${where.address}`) : null,
    where && where.phone && status !== "completed"
      ? el("p", {}, el("a", { class: "button", href: `tel:${where.phone.replace(/[^0-9+]/g, "")}` }, `${T("cg.call")} ${Fmt.phone(where.phone)}`))
      : null,
    stop.navigation && status !== "completed" ? navigationLinks(stop.navigation) : null,
    proofLine(order, mine),
    el("div", { class: "actions" }, ...stopActions(stop, status)),
  );
}

function serviceName(code) {
  const type = App.services.get(code);
  if (!type) return code;
  return LANG === "en" ? type.name_en : type.name_zh;
}

function navigationLinks(links) {
  return el("div", { class: "nav-links", role: "group", "aria-label": T("cg.stop.navigate") },
    ...["amap", "baidu", "tencent"].filter((app) => links[app]).map((app) =>
      el("a", { class: "button", href: links[app], rel: "noopener" }, T(`cg.nav.${app}`))));
}

/** What proof this service asks for, and what the caregiver has given so far (sent or waiting). */
function required(order) {
  const type = App.services.get(order.service_type);
  return (type && (type.proof_required || type.required_proof)) || [];
}

function proofLine(order, mine) {
  const needs = required(order);
  if (!needs.length) return null;
  const names = needs.map((item) => T(`cg.proof.${item}`)).join("、");
  const given = new Set([
    ...((order.visit && order.visit.proofs) || []).map((proof) => proof.kind),
    ...(App.given[order.id] || []),
    ...mine.filter((item) => item.kind === "proofs").map((item) => item.proofKind),
  ]);
  if ((order.visit && order.visit.confirmed_by) || given.has("signature")) given.add("confirmation");
  return el("p", { class: "proofs" }, T("cg.photo.needed", { items: names }),
    ...needs.filter((item) => given.has(item)).map((item) => el("span", { class: "badge status-in_service" }, `✓ ${T(`cg.proof.${item}`)}`)));
}

function stopActions(stop, status) {
  const order = stop.order;
  const needs = required(order);
  const buttons = [];
  if (status === "accepted") {
    buttons.push(el("button", { type: "button", class: "primary", onclick: () => act(order, "en-route") }, T("cg.enroute")));
  } else if (status === "en_route") {
    if (needs.includes("arrival_photo")) buttons.push(photoButton(order, "arrival_photo", "cg.photo.arrival"));
    buttons.push(el("button", { type: "button", class: "primary", onclick: () => checkIn(order) }, T("cg.checkin")));
  } else if (status === "in_service") {
    if (needs.includes("departure_photo")) buttons.push(photoButton(order, "departure_photo", "cg.photo.departure"));
    buttons.push(el("button", { type: "button", class: "primary", onclick: () => askCheckout(order) }, T("cg.checkout")));
  }
  return buttons;
}

/* The queue, as the caregiver sees it */

async function showPending() {
  const waiting = await Outbox.pending();
  const line = document.getElementById("pending");
  line.hidden = waiting.length === 0;
  line.textContent = T("cg.pending", { count: waiting.length });
  document.getElementById("pending-list").replaceChildren(
    ...waiting.map((item) => el("li", { dataset: { request: item.requestId } },
      T("cg.pending.item", { action: item.label, time: Fmt.time(item.tapped) }))));
}

async function afterSent(item, outcome) {
  if (outcome.status === "sent") {
    toast(T("cg.sent", { action: item.label }));
    // The server's answer is the order as it now stands: keep it, so a screen drawn with no network is right.
    if (item.kind === "proofs") {
      App.given[item.requestId] = [...new Set([...(App.given[item.requestId] || []), item.proofKind])];
      Kept.save("given", App.given);
    }
    const stop = (App.today.stops || []).find((s) => s.order.id === item.requestId);
    if (stop && outcome.data && outcome.data.status) {
      stop.order = { ...stop.order, ...outcome.data };
      Kept.save("today", App.today);
    }
  } else {
    toast(T("cg.refused", { action: item.label, message: outcome.error.message }), "error");
  }
  reload();
}

/* Today's route: the stops in visiting order, where the caregiver is, on a plain plot (no map tiles offline). */

function drawRoute(stops) {
  const figure = document.getElementById("route-map");
  const points = stops.filter((s) => s.order.destination).map((s) => s.order.destination.location);
  const here = App.me && App.me.location;
  figure.hidden = points.length === 0;
  const old = figure.querySelector("svg");
  if (old) old.remove();
  if (!points.length) return;
  const all = here ? [here, ...points] : points;
  const lats = all.map((p) => p.lat), lons = all.map((p) => p.lon);
  const pad = 0.002;
  const [south, north] = [Math.min(...lats) - pad, Math.max(...lats) + pad];
  const [west, east] = [Math.min(...lons) - pad, Math.max(...lons) + pad];
  const W = 320, H = 200;
  const xy = (p) => [((p.lon - west) / (east - west)) * W, H - ((p.lat - south) / (north - south)) * H];
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", T("cg.today.map"));
  const shape = (tag, attrs, text) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
  };
  const path = (here ? [here, ...points] : points).map((p) => xy(p).join(",")).join(" ");
  shape("polyline", { points: path, fill: "none", stroke: "#1849a9", "stroke-width": 2, "stroke-dasharray": "6 4" });
  if (here) shape("circle", { cx: xy(here)[0], cy: xy(here)[1], r: 7, fill: "#05603a" });
  points.forEach((p, n) => {
    const [x, y] = xy(p);
    shape("circle", { cx: x, cy: y, r: 11, fill: "#f79009", stroke: "#0b2a5b", "stroke-width": 2 });
    shape("text", { x, y: y + 5, "text-anchor": "middle", "font-size": 13, "font-weight": 700, fill: "#0b2a5b" }, String(n + 1));
  });
  figure.prepend(svg);
}
