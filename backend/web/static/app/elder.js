/* The elder's app, and her family's: one tap per service then 「确认下单」, a red 「紧急呼叫」 that asks once more in
   words, her orders live (who is coming, how far away), cancel while allowed, stars after the visit. A family
   account sees the same within her consent, can call the caregiver or the hotline, and answers the emergency
   ladder when it reaches the family. Few choices per screen, no time limit, everything said in words. */
"use strict";

const Elder = {
  id: null,
  name: "",
  family: false, // a family account following her
  mayAct: true, // the elder herself; a family member only with her act_for_elder consent
  mayOrder: false,
  menu: null,
  orders: [],
  coming: new Map(), // order id -> who is coming
  types: new Map(), // service code -> its names
  choice: null, // the service chosen, on the confirmation screen
  key: null, // the Idempotency-Key of the order being confirmed (a double tap orders once)
};
const SCREENS = ["screen-home", "screen-confirm", "screen-sos", "screen-sos-sent"];
const OPEN = ["new", "dispatching", "offered", "accepted", "en_route", "in_service", "escalated"];
const CANCELLABLE = ["new", "dispatching", "offered", "accepted", "escalated"];
const COMING = ["accepted", "en_route", "in_service"]; // someone is coming, or there: who, and their number
const SIZES = ["1", "", "2", "3"]; // 20, 22 (default), 24, 30 px

document.addEventListener("DOMContentLoaded", async () => {
  setSize(Number(localStorage.getItem("eldercare.size") ?? 1));
  document.getElementById("smaller").addEventListener("click", () => setSize(currentSize() - 1));
  document.getElementById("bigger").addEventListener("click", () => setSize(currentSize() + 1));
  let me;
  try {
    me = await Session.require(["elder", "family"]);
  } catch (_) {
    return;
  }
  Elder.family = me.role === "family";
  if (!(await pickElder(me))) return;
  bindScreens();
  for (const type of (await readKept("service-types", "/api/v1/service-types").catch(failed)) || []) {
    Elder.types.set(type.code, LANG === "en" ? type.name_en : type.name_zh);
  }
  const live = new Live(onEvent, () => reload());
  live.subscribe(`elder:${Elder.id}`);
  await reload();
});

/** One screen at a time: away from the start screen, nothing else on the page to choose from. */
function show(screen) {
  showOnly(SCREENS, screen);
  const home = screen === "screen-home";
  document.getElementById("orders-section").hidden = !home;
  document.getElementById("notes-section").hidden = !home || !Elder.family;
  document.getElementById("leave").hidden = !home;
}

function currentSize() {
  return Math.max(0, SIZES.indexOf(document.documentElement.dataset.size || ""));
}

function setSize(level) {
  const index = Math.min(SIZES.length - 1, Math.max(0, level));
  if (SIZES[index]) document.documentElement.dataset.size = SIZES[index];
  else delete document.documentElement.dataset.size;
  localStorage.setItem("eldercare.size", String(index));
  document.getElementById("smaller").disabled = index === 0;
  document.getElementById("bigger").disabled = index === SIZES.length - 1;
}

/** Whose orders these are: the elder herself, or the elder a family account follows (one of them, if several). */
async function pickElder(me) {
  const greeting = document.getElementById("greeting");
  if (!Elder.family) {
    Elder.id = me.elder_id;
    const file = await readKept("file", `/api/v1/elders/${Elder.id}`).catch(failed);
    Elder.name = (file && file.name) || me.display_name || me.username;
    greeting.textContent = T("el.hello", { name: Elder.name });
    return true;
  }
  greeting.textContent = T("el.hello", { name: me.display_name || me.username });
  const followed = await readKept("elders", "/api/v1/family/elders").catch(failed);
  if (!followed || !followed.length) {
    document.getElementById("screen-home").hidden = true;
    document.getElementById("orders-none").textContent = T("el.family.none");
    return false;
  }
  const chosen = Number(localStorage.getItem("eldercare.follow")) || followed[0].elder_id;
  const current = followed.find((f) => f.elder_id === chosen) || followed[0];
  Elder.id = current.elder_id;
  Elder.name = current.elder_name;
  Elder.mayAct = current.act_for_elder;
  const line = document.getElementById("family-for");
  line.textContent = T("el.family.for", { name: Elder.name });
  line.hidden = false;
  if (followed.length > 1) {
    const pick = document.getElementById("elder-pick");
    pick.replaceChildren(...followed.map((f) => el("option", { value: f.elder_id, selected: f.elder_id === Elder.id }, f.elder_name)));
    pick.hidden = false;
    document.getElementById("elder-pick-label").hidden = false;
    pick.addEventListener("change", () => {
      localStorage.setItem("eldercare.follow", pick.value);
      location.reload();
    });
  }
  document.getElementById("notes-section").hidden = false;
  return true;
}

const reload = debounce(async () => {
  await Promise.all([showMenu(), showOrders(), Elder.family ? showNotes() : null]);
}, 150);

function onEvent(_channel, event) {
  reload(); // an order moved, a notification came, the ladder climbed
  if (event === "notification" && Elder.family && navigator.vibrate) navigator.vibrate(300);
}

/* Ordering: one tap on the service, then 「确认下单」 */

async function showMenu() {
  const list = document.getElementById("services");
  Elder.menu = null;
  if (Elder.mayAct) {
    Elder.menu = await readKept("menu", `/api/v1/elders/${Elder.id}/menu`).catch(failed);
  }
  Elder.mayOrder = Boolean(Elder.menu);
  document.getElementById("readonly").hidden = !Elder.family || Elder.mayAct; // she lets them follow, not order
  document.getElementById("sos").hidden = !Elder.mayAct; // never hidden from the elder herself
  const quota = document.getElementById("quota");
  if (!Elder.menu) {
    list.replaceChildren();
    quota.hidden = true;
    return;
  }
  quota.hidden = false;
  quota.textContent = Elder.menu.remaining > 0 ? T("el.quota", { n: Elder.menu.remaining }) : T("el.quota.none");
  list.replaceChildren(...Elder.menu.items.map((item) =>
    el("li", {}, el("button", { type: "button", dataset: { service: item.code }, onclick: () => choose(item) },
      el("span", {}, item.name), el("span", { class: "price" }, priceText(item))))));
}

function priceText(item) {
  if (item.free) return T("el.free");
  return item.price_yuan === null || item.price_yuan === undefined ? T("el.price.ask") : T("el.price", { price: Fmt.yuan(item.price_yuan) });
}

function choose(item) {
  Elder.choice = item;
  Elder.key = newKey();
  document.getElementById("h-confirm").textContent = item.name;
  document.getElementById("confirm-price").textContent = priceText(item);
  document.querySelector("input[name=when][value=asap]").checked = true;
  show("screen-confirm");
  Voice.say(`${item.name}，${priceText(item)}`);
}

/** The visit's window: as soon as possible (none), or tomorrow morning (8–12) or afternoon (14–18), Suzhou time. */
function windowOf(when) {
  if (when === "asap") return {};
  const [y, m, d] = new Intl.DateTimeFormat("en-CA", { timeZone: TZ }).format(new Date()).split("-").map(Number);
  const tomorrow = new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
  const [from, to] = when === "morning" ? ["08:00", "12:00"] : ["14:00", "18:00"];
  return { window_start: `${tomorrow}T${from}:00+08:00`, window_end: `${tomorrow}T${to}:00+08:00` };
}

async function place() {
  const item = Elder.choice;
  const when = document.querySelector("input[name=when]:checked").value;
  const button = document.getElementById("place");
  button.disabled = true;
  try {
    await api("/api/v1/requests", {
      method: "POST",
      body: { elder_id: Elder.id, service_type: item.code, ...windowOf(when) },
      headers: { "Idempotency-Key": Elder.key },
    });
    const said = T("el.ordered", { service: item.name });
    toast(said);
    Voice.say(said);
    show("screen-home");
    reload();
  } catch (error) {
    failed(error);
  } finally {
    button.disabled = false;
  }
}

/* The emergency call: asked once more, in words, with the confirmation away from where the first tap was. */

function askSos() {
  show("screen-sos");
  const yes = document.getElementById("sos-yes");
  yes.disabled = true; // a second, stray tap of the same finger does not call
  setTimeout(() => { yes.disabled = false; }, 1200);
  Elder.key = newKey();
  Voice.say(`${T("el.sos.ask")}${T("el.sos.explain")}`);
}

async function callForHelp() {
  const yes = document.getElementById("sos-yes");
  yes.disabled = true;
  try {
    const called = await api(`/api/v1/elders/${Elder.id}/sos`, {
      method: "POST", body: {}, headers: { "Idempotency-Key": Elder.key },
    });
    const said = called.absorbed ? T("el.sos.again") : T("el.sos.sent");
    document.getElementById("sos-said").textContent = said;
    show("screen-sos-sent");
    Voice.say(said);
    reload();
  } catch (error) {
    failed(error);
    show("screen-home");
  }
}

function bindScreens() {
  document.getElementById("place").addEventListener("click", place);
  document.getElementById("sos").addEventListener("click", askSos);
  document.getElementById("sos-yes").addEventListener("click", callForHelp);
  for (const back of document.querySelectorAll("[data-back]")) {
    back.addEventListener("click", () => show("screen-home"));
  }
  for (const answer of document.querySelectorAll("#ladder-answer [data-answer]")) {
    answer.addEventListener("click", () => answerLadder(answer.dataset.answer));
  }
  const aloud = document.getElementById("read-aloud");
  aloud.hidden = !Voice.available;
  aloud.addEventListener("click", () => {
    const first = document.querySelector("#orders .say");
    Voice.say(first ? first.textContent : T("el.orders.none"));
  });
}

/* Her orders, live */

async function showOrders() {
  let orders;
  try {
    orders = (await readKept("orders", `/api/v1/requests?elder_id=${Elder.id}&limit=20`)) || [];
  } catch (error) {
    failed(error);
    return;
  }
  Elder.orders = orders;
  Elder.coming.clear();
  await Promise.all(orders.filter((o) => COMING.includes(o.status)).map(async (o) => {
    try {
      Elder.coming.set(o.id, await api(`/api/v1/requests/${o.id}/coming`));
    } catch (_) {
      Elder.coming.delete(o.id);
    }
  }));
  document.getElementById("orders").replaceChildren(...orders.map(orderCard));
  document.getElementById("orders-none").hidden = orders.length > 0;
  showLadder(orders);
}

function serviceName(order) {
  return order.service_type === "emergency" ? T("el.sos") : Elder.types.get(order.service_type) || order.service_type;
}

/** What is happening, in one sentence she can read (or hear). */
function stateText(order) {
  const coming = Elder.coming.get(order.id);
  if (order.status === "en_route" && coming && coming.eta_minutes !== null && coming.eta_minutes !== undefined) {
    return T("el.coming.eta", { minutes: coming.eta_minutes });
  }
  return T(`el.state.${order.status}`);
}

function orderCard(order) {
  const coming = Elder.coming.get(order.id);
  const lead = coming && coming.caregivers.find((c) => c.lead);
  const when = windowText(order.window_start, order.window_end);
  return el(
    "li",
    { class: "order", id: `order-${order.id}`, dataset: { status: order.status, priority: order.priority } },
    el("div", { class: "row spread" }, el("strong", {}, serviceName(order)), statusBadge(order.status)),
    el("p", { class: "say" }, stateText(order)),
    when ? el("p", { class: "muted" }, when) : null,
    lead ? el("p", {}, T("el.coming", { name: lead.name })) : null,
    lead && lead.phone && /^[+0-9]+$/.test(lead.phone.replace(/[\s-]/g, ""))
      ? el("a", { class: "button huge", href: `tel:${lead.phone.replace(/[^0-9+]/g, "")}` }, T("el.coming.call"))
      : null,
    Elder.mayOrder && CANCELLABLE.includes(order.status)
      ? el("button", { type: "button", class: "huge", onclick: () => cancel(order) }, T("el.cancel"))
      : null,
    ratingOf(order),
  );
}

function ratingOf(order) {
  if (!["completed", "closed"].includes(order.status) || !order.visit) return null;
  if (order.visit.rating) return el("p", { class: "muted" }, T("el.rated.stars", { n: order.visit.rating }));
  if (Elder.family && !Elder.mayOrder) return null;
  return el("div", {}, el("p", {}, T("el.rate")),
    el("div", { class: "stars", role: "group", "aria-label": T("el.rate") },
      ...[1, 2, 3, 4, 5].map((n) => el("button", {
        type: "button", "aria-label": T("el.rate.star", { n }), onclick: () => rate(order, n),
      }, "★".repeat(n)))));
}

async function cancel(order) {
  // Asked in words, never by colour or a timer; the button says what it does.
  if (!window.confirm(T("el.cancel.ask"))) return;
  try {
    await api(`/api/v1/requests/${order.id}/cancel`, { method: "POST", body: { reason: "老人取消" } });
    toast(T("el.cancelled"));
  } catch (error) {
    failed(error);
  }
  reload();
}

async function rate(order, stars) {
  try {
    await api(`/api/v1/requests/${order.id}/rating`, { method: "POST", body: { stars } });
    toast(T("el.rated"));
    Voice.say(T("el.rated"));
  } catch (error) {
    failed(error);
  }
  reload();
}

/* The family and the emergency ladder */

let answering = null; // the emergency order whose ladder reached the family

function showLadder(orders) {
  const box = document.getElementById("ladder-answer");
  if (!Elder.family) return;
  answering = orders.find((o) => o.priority === "emergency" && OPEN.includes(o.status) && o.ladder
    && o.ladder.some((step) => step.code === "family" && step.started_at)
    && o.ladder.some((step) => step.status === "active"));
  box.hidden = !answering;
  if (answering) document.getElementById("ladder-text").textContent = T("el.family.ladder", { name: Elder.name });
}

async function answerLadder(answer) {
  if (!answering) return;
  try {
    await api(`/api/v1/requests/${answering.id}/ladder/act`, { method: "POST", body: { answer } });
    toast(T("el.family.answered"));
  } catch (error) {
    failed(error);
  }
  reload();
}

async function showNotes() {
  const notes = await readKept("notes", `/api/v1/elders/${Elder.id}/notifications?limit=20`).catch(failed);
  document.getElementById("notes").replaceChildren(...(notes || []).map((note) =>
    el("li", {}, el("span", { class: "muted small" }, Fmt.dateTime(note.created_at)), el("br"), note.body)));
}
