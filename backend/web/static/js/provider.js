/* A provider's desk (服务组织工作台): the open orders its caregivers hold, which of them is at work on what, and
   their recent finished visits, each opening beside its order with the visit's proof. Only what the API lets a
   provider read: the orders its caregivers serve, each caregiver's record, an order's detail and proof. The area's
   queue, figures and capacity belong to the area's staff and are not shown here. */
"use strict";

const Org = { me: null, live: null, communities: new Map(), names: new Map(), ours: new Set() };
const OPEN = ["accepted", "en_route", "in_service"]; // the caregivers hold the order
const URGENCY = { emergency: 0, urgent: 1, normal: 2 };

async function startProviderDesk() {
  Org.me = await Session.require(["provider_admin"]);
  const [provider, communities, services] = await Promise.all([
    api(`/api/v1/providers/${Org.me.provider_id}`),
    api("/api/v1/communities"),
    api("/api/v1/service-types"),
  ]);
  OrderDetail.services = services;
  document.getElementById("org-title").textContent = `${T("org.title")} · ${provider.name}`;
  for (const c of communities) Org.communities.set(c.id, c.name);
  Org.live = new Live(onOrgEvent, () => reloadOrg()); // (re)subscribed: catch up with what came before
  OrderDetail.live = Org.live; // an order's detail, open, follows its new proof
  await loadOrg();
  // A caregiver this page has not met yet (no order of theirs shown) has no channel followed: look again now and then.
  setInterval(() => loadOrg().catch(failed), 30000);
}

const reloadOrg = debounce(() => loadOrg().catch(failed), 300);

/** Every order's status and proof reaches its caregivers' channels: the page follows its caregivers. */
function onOrgEvent(channel, event, data) {
  OrderDetail.onEvent(channel, event, data);
  if (event.startsWith("request.") || event.startsWith("offer.") || event.startsWith("visit.")) reloadOrg();
}

async function loadOrg() {
  const [open, done] = await Promise.all([
    Promise.all(OPEN.map((status) => api(`/api/v1/requests?status=${status}&limit=200`))).then((lists) => lists.flat()),
    api("/api/v1/requests?status=completed&limit=20"),
  ]);
  open.sort((a, b) => (URGENCY[a.priority] - URGENCY[b.priority]) || a.created_at.localeCompare(b.created_at));
  await meetCaregivers([...open, ...done]);
  drawQueue(open);
  drawCaregivers(open);
  drawVisits(done);
}

function crewOf(order) {
  return [order.assigned_caregiver_id, order.partner_caregiver_id].filter((id) => id != null);
}

/**
 * Name the caregivers of these orders. One serving alone is the provider's own (else the order would not be listed):
 * their record is read once and their channel followed, where each of their orders' status and proof is told. A
 * two-caregiver crew may join two providers' caregivers, and another's record is not this provider's to read: the
 * order's "who is coming" names both.
 */
async function meetCaregivers(orders) {
  const alone = new Set(orders.filter((o) => o.partner_caregiver_id == null && o.assigned_caregiver_id != null)
    .map((o) => o.assigned_caregiver_id).filter((id) => !Org.ours.has(id)));
  const teams = orders.filter((o) => o.partner_caregiver_id != null && crewOf(o).some((id) => !Org.names.has(id)));
  const [records, crews] = await Promise.all([
    Promise.all([...alone].map((id) => api(`/api/v1/caregivers/${id}`))),
    Promise.all(teams.map((o) => api(`/api/v1/requests/${o.id}/coming`))),
  ]);
  for (const caregiver of records) {
    Org.ours.add(caregiver.id);
    Org.names.set(caregiver.id, caregiver.name);
    Org.live.subscribe(`caregiver:${caregiver.id}`);
  }
  for (const coming of crews) for (const c of coming.caregivers) if (!Org.names.has(c.id)) Org.names.set(c.id, c.name);
}

function nameOf(id) {
  return Org.names.get(id) || `#${id}`;
}

function crewNames(order) {
  const names = crewOf(order).map(nameOf);
  return names.length ? names.join(LANG === "en" ? ", " : "、") : "–";
}

function communityName(id) {
  return Org.communities.get(id) || "–";
}

/* ---- The open orders its caregivers hold ---- */

function drawQueue(orders) {
  const count = (status) => orders.filter((o) => o.status === status).length;
  document.getElementById("kpi-open").textContent = Fmt.number(orders.length);
  document.getElementById("kpi-en-route").textContent = Fmt.number(count("en_route"));
  document.getElementById("kpi-in-service").textContent = Fmt.number(count("in_service"));
  document.getElementById("status-counts").replaceChildren(...OPEN.filter((s) => count(s))
    .map((s) => el("span", { class: `chip status-${s}` }, `${T(`status.${s}`)} ${count(s)}`)));
  document.querySelector("#queue tbody").replaceChildren(...orders.map((o) => el("tr", { id: `q-${o.id}`, dataset: { status: o.status } },
    el("td", {}, orderButton(o.id, { caregiverName: crewNames(o) })),
    el("td", {}, statusBadge(o.status)),
    el("td", {}, priorityBadge(o.priority)),
    el("td", {}, orderServiceName(o.service_type)),
    el("td", {}, communityName(o.community_id)),
    el("td", {}, o.window_start ? `${Fmt.dateTime(o.window_start)} – ${Fmt.time(o.window_end)}` : "–"),
    el("td", { class: "crew" }, crewNames(o)),
    el("td", {}, Fmt.dateTime(o.created_at)))));
  document.getElementById("queue-empty").hidden = orders.length > 0;
}

/* ---- Its caregivers at work: who holds which order, and how far it has come ---- */

function drawCaregivers(orders) {
  const holding = new Map(); // the provider's own caregiver id -> the open orders they hold
  for (const order of orders) {
    for (const id of crewOf(order).filter((c) => Org.ours.has(c))) holding.set(id, [...(holding.get(id) || []), order]);
  }
  document.getElementById("kpi-at-work").textContent = Fmt.number(holding.size);
  const list = document.getElementById("caregivers");
  list.replaceChildren(...(holding.size ? [...holding].map(([id, held]) => el("li", { class: "cg", dataset: { caregiver: id } },
    el("span", { class: "name" }, nameOf(id)),
    held.map((o) => el("span", { class: `chip status-${o.status}`, dataset: { order: o.id } }, `${T(`status.${o.status}`)} #${o.id}`))))
    : [el("li", { class: "muted" }, T("org.caregivers_empty"))]));
}

/* ---- Its recent finished visits, with their proof: each opens beside its order ---- */

function drawVisits(orders) {
  document.querySelector("#visits tbody").replaceChildren(...orders.map((o) => el("tr", { id: `v-${o.id}` },
    el("td", {}, orderButton(o.id, { caregiverName: crewNames(o) })),
    el("td", {}, orderServiceName(o.service_type)),
    el("td", {}, communityName(o.community_id)),
    el("td", {}, crewNames(o)),
    el("td", {}, Fmt.dateTime(o.visit && o.visit.checkout_at)),
    el("td", {}, proofChip(o) || "–"))));
  document.getElementById("visits-empty").hidden = orders.length > 0;
}

startProviderDesk().catch(failed);
