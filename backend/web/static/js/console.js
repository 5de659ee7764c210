/* The hotline console: caller's number → elder's file → a work order in a few keystrokes, followed live. */
"use strict";

const Console = {
  elder: null,
  services: [],
  tracked: new Map(), // request id -> order
  elders: new Map(), // request id -> the elder's name, for the order's detail
  live: null,
  map: null,
};

async function startConsole() {
  await Session.require(["admin", "operator"]);
  Console.services = await api("/api/v1/service-types");
  const select = document.getElementById("service");
  for (const s of Console.services) {
    select.append(el("option", { value: s.code }, LANG === "en" ? s.name_en : s.name_zh));
  }
  OrderDetail.services = Console.services;
  Console.live = new Live(onConsoleEvent, (channel) => {
    if (channel.startsWith("district:")) refreshEscalated();
  });
  OrderDetail.live = Console.live;
  const districts = await api("/api/v1/districts");
  for (const d of districts) Console.live.subscribe(`district:${d.id}`); // the whole city's escalations
  await loadEscalated();
  const phone = new URLSearchParams(location.search).get("phone"); // telephony can open the page on a call
  if (phone) {
    document.getElementById("phone").value = phone;
    await lookUp(phone);
  }
}

const refreshEscalated = debounce(() => loadEscalated().catch(failed), 300);

function onConsoleEvent(channel, event, data) {
  OrderDetail.onEvent(channel, event, data);
  if (event === "request.breach_predicted" && channel.startsWith("district:")) {
    // An escalated order is already in the list waiting for a person: the list's badge says it, no toast.
    if (data.status !== "escalated") toast(T("breach.alert", { id: data.request_id, time: Fmt.time(data.predicted_breach_at), sla: T(`breach.sla.${data.sla}`) }));
    refreshEscalated();
    return;
  }
  if (event !== "request.status") return;
  if (channel.startsWith("request:") && Console.tracked.has(data.request_id)) {
    api(`/api/v1/requests/${data.request_id}`).then(renderTracked).catch(failed);
  }
  if (channel.startsWith("district:")) refreshEscalated();
  if (Console.elder && data.elder_id === Console.elder.id && channel.startsWith("district:")) {
    loadRecent(Console.elder.id).catch(failed);
  }
}

/* ---- Finding the caller ---- */

document.getElementById("lookup").addEventListener("submit", (event) => {
  event.preventDefault();
  lookUp(document.getElementById("phone").value.trim()).catch(failed);
});

async function lookUp(phone) {
  const choices = document.getElementById("choices");
  const file = document.getElementById("elder-file");
  choices.replaceChildren();
  file.replaceChildren(el("p", { class: "muted" }, T("common.loading")));
  const elders = await api(`/api/v1/elders?phone=${encodeURIComponent(phone)}`);
  file.replaceChildren();
  if (!elders.length) {
    file.append(el("p", { class: "notice", role: "alert" }, T("console.no_elder")));
    showOrderForm(false);
    return;
  }
  if (elders.length === 1) return openFile(elders[0]);
  choices.append(el("p", {}, T("console.choose")));
  elders.forEach((elder, index) => {
    choices.append(el("button", {
      type: "button", class: "choice", role: "listitem", "data-elder": elder.id,
      onclick: () => { choices.replaceChildren(); openFile(elder); },
    }, `${index + 1}. ${elder.name}（${elder.age ?? "–"}${T("console.years")}）${elder.address}`));
  });
  choices.querySelector("button").focus();
}

async function openFile(elder) {
  Console.elder = elder;
  const [entitlement, family] = await Promise.all([
    api(`/api/v1/elders/${elder.id}/entitlement`).catch(() => null),
    api(`/api/v1/elders/${elder.id}/family`).catch(() => []),
  ]);
  const gender = elder.gender === "female" ? T("console.gender.female") : elder.gender === "male" ? T("console.gender.male") : "–";
  const cover = elder.accident_cover
    ? T("console.cover_until", { insurer: elder.accident_cover.insurer, number: elder.accident_cover.number, ends: elder.accident_cover.ends_on })
    : T("console.cover_none");
  const categories = entitlement && entitlement.categories.length
    ? entitlement.categories.map((c) => c.name_zh).join("、") : T("common.none");
  const contacts = family.length
    ? family.map((m) => el("li", {}, `${m.name}（${m.relation}）`, el("span", { class: "phone" }, Fmt.phone(m.phone))))
    : [el("li", { class: "muted" }, T("common.none"))];
  const file = document.getElementById("elder-file");
  file.replaceChildren(
    el("h3", { id: "elder-name" }, elder.name, " ", el("span", { class: "muted small" }, `#${elder.id}`)),
    el("dl", { class: "facts" },
      el("dt", {}, T("console.age")), el("dd", {}, elder.age != null ? `${elder.age} ${T("console.years")}` : "–"),
      el("dt", {}, T("console.gender")), el("dd", {}, gender),
      el("dt", {}, T("console.phone")), el("dd", { class: "phone" }, Fmt.phone(elder.phone)),
      el("dt", {}, T("console.address")), el("dd", {}, elder.address),
      el("dt", {}, T("console.categories")), el("dd", { id: "elder-categories" }, categories),
      el("dt", {}, T("console.entitlement")), el("dd", { id: "elder-quota" }, quotaText(entitlement)),
      el("dt", {}, T("console.cover")), el("dd", { id: "elder-cover", class: elder.accident_cover ? "" : "warn" }, cover),
    ),
    el("h4", {}, T("console.contacts")), el("ul", { class: "plain contacts" }, contacts),
    el("h4", {}, T("console.map")), el("div", { id: "elder-map", class: "chart small-map", role: "img", "aria-label": elder.address }),
    el("h4", {}, T("console.recent")), el("ul", { id: "recent", class: "plain" }),
  );
  if (Console.map) Console.map.dispose();
  Console.map = echarts.init(document.getElementById("elder-map"));
  const home = { name: elder.name, color: MapColors.late, size: 16,
    points: [{ lon: elder.location.lon, lat: elder.location.lat, label: elder.address }] };
  drawMap(Console.map, [home]);
  // Who could come: the caregivers on shift of the providers serving her community, around her home.
  api(`/api/v1/dashboard/caregivers?community_id=${elder.community_id}`).then((view) => {
    if (Console.elder !== elder) return;
    drawMap(Console.map, [{ name: T("dash.map.caregivers"), color: MapColors.caregiver, symbol: "triangle", size: 11,
      points: view.caregivers.map((c) => ({ lon: c.lon, lat: c.lat, label: `${c.name} · ${T(`cg.${c.state}`)}` })) }, home]);
  }).catch(() => {});
  showOrderForm(true);
  await loadRecent(elder.id);
  document.getElementById("service").focus();
}

function quotaText(entitlement) {
  if (!entitlement) return "–";
  return `${T("console.quota_left", { left: entitlement.remaining, quota: entitlement.quota })} · ${
    T(`console.next_payer.${entitlement.next_order_paid_by}`)}`;
}

async function refreshQuota(elderId) {
  const entitlement = await api(`/api/v1/elders/${elderId}/entitlement`);
  const cell = document.getElementById("elder-quota");
  if (cell && Console.elder && Console.elder.id === elderId) cell.textContent = quotaText(entitlement);
}

async function loadRecent(elderId) {
  const orders = await api(`/api/v1/requests?elder_id=${elderId}&limit=5`);
  const list = document.getElementById("recent");
  if (!list) return;
  const elder = Console.elder ? { elderName: Console.elder.name } : {};
  list.replaceChildren(...(orders.length ? orders.map((o) => el("li", { id: `recent-${o.id}` },
    el("span", { class: "muted" }, Fmt.dateTime(o.created_at)), " ", serviceName(o.service_type), " ", statusBadge(o.status),
    " ", proofChip(o), " ", orderButton(o.id, elder, T("order.details"))))
    : [el("li", { class: "muted" }, T("common.none"))]));
}

function serviceName(code) {
  const s = Console.services.find((x) => x.code === code);
  return s ? (LANG === "en" ? s.name_en : s.name_zh) : code;
}

function showOrderForm(on) {
  document.getElementById("order-form").hidden = !on;
}

/* ---- Creating the order ---- */

function localToIso(value) {
  return value ? new Date(`${value}:00+08:00`).toISOString() : undefined; // the form speaks Suzhou time
}

async function createOrder(override) {
  const form = document.getElementById("order-form");
  const data = new FormData(form);
  const body = {
    elder_id: Console.elder.id,
    service_type: data.get("service_type"),
    priority: data.get("priority"),
    window_start: localToIso(data.get("window_start")),
    window_end: localToIso(data.get("window_end")),
    notes: data.get("notes") || undefined,
    paid_by: data.get("paid_by") || undefined,
    ...override,
  };
  const order = await api("/api/v1/requests", { method: "POST", body });
  toast(T("console.created", { id: order.id }));
  form.reset();
  track(order, Console.elder.name);
  loadRecent(Console.elder.id).catch(failed);
  refreshQuota(Console.elder.id).catch(failed);
  return order;
}

document.getElementById("order-form").addEventListener("submit", (event) => {
  event.preventDefault();
  createOrder().catch(failed);
});

document.getElementById("order-form").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    createOrder().catch(failed);
  }
});

async function emergency() {
  if (!Console.elder) return;
  if (!confirm(T("console.emergency_confirm", { name: Console.elder.name }))) return;
  await createOrder({ service_type: "emergency", priority: "emergency", window_start: undefined, window_end: undefined });
}

document.getElementById("emergency").addEventListener("click", () => emergency().catch(failed));

document.addEventListener("keydown", (event) => {
  if (event.key === "F2") {
    event.preventDefault();
    document.getElementById("phone").select();
  } else if (event.key === "F9") {
    event.preventDefault();
    emergency().catch(failed);
  } else if (event.key === "Escape") {
    document.getElementById("assign-panel").hidden = true;
  }
});

/* ---- Following orders live ---- */

function track(order, elderName) {
  Console.tracked.set(order.id, order);
  if (elderName) Console.elders.set(order.id, elderName);
  Console.live.subscribe(`request:${order.id}`, 0); // from its first event: the dispatcher may be quicker than us
  renderTracked(order);
}

function renderTracked(order) {
  Console.tracked.set(order.id, order);
  const list = document.getElementById("tracking");
  list.querySelector(".empty")?.remove();
  const steps = order.history.map((h) => el("li", {}, el("span", { class: "muted" }, Fmt.time(h.at)), " ", T(`status.${h.status}`)));
  const item = el("li", { class: "tracked", id: `order-${order.id}`, dataset: { status: order.status } },
    el("div", { class: "row spread" },
      el("strong", {}, `#${order.id} ${serviceName(order.service_type)}`),
      priorityBadge(order.priority),
      el("span", { class: "order-status" }, statusBadge(order.status)),
      proofChip(order),
      orderButton(order.id, { elderName: Console.elders.get(order.id) }, T("order.details"))),
    el("ol", { class: "steps" }, steps),
    order.status === "escalated" && order.history.length
      ? el("p", { class: "small warn" }, order.history[order.history.length - 1].reason || "") : null);
  const old = document.getElementById(`order-${order.id}`);
  if (old) old.replaceWith(item); else list.prepend(item);
}

/* ---- Escalated orders: assigning by hand, with the dispatcher's reasons ---- */

function renderAtRisk(orders) {
  const risky = orders.filter((o) => o.predicted_breach_at && o.status !== "escalated");
  const count = document.getElementById("risk-count");
  count.textContent = Fmt.number(risky.length);
  count.dataset.zero = risky.length === 0;
  document.getElementById("at-risk").replaceChildren(...(risky.length ? risky.map((o) => el("li", { class: "esc at-risk", id: `risk-${o.id}` },
    el("div", { class: "row spread" },
      el("strong", {}, `#${o.id} ${o.elder_name}`), priorityBadge(o.priority), breachBadge(o)),
    el("div", { class: "muted small" },
      `${LANG === "en" ? o.service_name_en : o.service_name_zh} · ${o.community_name} · ${T(`status.${o.status}`)} · ${Fmt.duration(o.waiting_seconds)}`),
    orderButton(o.id, { elderName: o.elder_name }, T("order.details"))))
    : [el("li", { class: "muted" }, T("console.at_risk_empty"))]));
}

async function loadEscalated() {
  const queue = await api("/api/v1/dashboard/queue?limit=1000");
  renderAtRisk(queue.orders);
  const escalated = queue.orders.filter((o) => o.status === "escalated");
  const count = document.getElementById("esc-count");
  count.textContent = Fmt.number(escalated.length);
  count.dataset.zero = escalated.length === 0;
  const list = document.getElementById("escalated");
  list.replaceChildren(...(escalated.length ? escalated.map((o) => el("li", { class: `esc sla-${o.sla}`, id: `esc-${o.id}` },
    el("div", { class: "row spread" },
      el("strong", {}, `#${o.id} ${o.elder_name}`), priorityBadge(o.priority),
      el("span", { class: `sla sla-${o.sla}` }, T(`sla.${o.sla}`)), breachBadge(o)),
    el("div", { class: "muted small" },
      `${LANG === "en" ? o.service_name_en : o.service_name_zh} · ${o.community_name} · ${Fmt.duration(o.waiting_seconds)}`),
    o.escalation_reason ? el("div", { class: "small" }, o.escalation_reason) : null,
    el("button", { type: "button", class: "assign", onclick: () => openAssign(o).catch(failed) }, T("console.assign"))))
    : [el("li", { class: "muted" }, T("console.escalated_empty"))]));
}

async function openAssign(order, everyone = false) {
  const panel = document.getElementById("assign-panel");
  panel.hidden = false;
  panel.replaceChildren(el("p", { class: "muted" }, T("common.loading")));
  // The caregivers of providers serving the elder's community first; the rest only when asked for.
  const [nearby, ranked] = await Promise.all([
    api(`/api/v1/requests/${order.id}/nearby-caregivers?radius_km=10&limit=30&serving_only=${!everyone}`),
    api(`/api/v1/requests/${order.id}/candidates`).catch(() => []),
  ]);
  nearby.sort((a, b) => Number(b.eligible) - Number(a.eligible) || a.distance_m - b.distance_m);
  const why = new Map(ranked.map((c) => [c.caregiver_id, c.explanation]));
  const widen = el("label", { class: "inline" },
    el("input", { type: "checkbox", id: "assign-everyone", checked: everyone,
      onchange: (event) => openAssign(order, event.target.checked).catch(failed) }),
    " ", T("console.all_providers"));
  const reason = el("input", { id: "assign-reason", maxlength: 200, "aria-label": T("console.assign_reason"), placeholder: T("console.assign_reason") });
  const rows = nearby.map((c) => el("li", { class: c.eligible ? "cand ok" : "cand no", dataset: { caregiver: c.caregiver_id } },
    el("div", { class: "row spread" },
      el("strong", {}, c.name),
      el("span", {}, `${T("console.distance")} ${Fmt.distance(c.distance_m)}`),
      c.on_this_order
        ? el("span", { class: "badge" }, T(`console.on_order.${c.on_this_order}`))
        : el("span", { class: c.eligible ? "badge ok" : "badge no" }, T(c.eligible ? "console.eligible" : "console.not_eligible"))),
    el("div", { class: "small" }, c.eligible ? (why.get(c.caregiver_id) || "") : c.excluded_by.map((x) => x.reason).join("；")),
    el("button", {
      type: "button", class: "assign-to",
      onclick: () => assignTo(order, c, reason.value).catch(failed),
    }, T("console.assign_to"))));
  panel.replaceChildren(
    el("div", { class: "row spread" },
      el("h3", {}, T("console.assign_title", { id: order.id })),
      el("button", { type: "button", class: "link", onclick: () => { panel.hidden = true; } }, T("common.close"))),
    reason,
    widen,
    el("ul", { class: "plain" }, rows.length ? rows : [el("li", { class: "muted" }, T("common.none"))]),
  );
  panel.querySelector("button.assign-to")?.focus();
}

async function assignTo(order, caregiver, reason) {
  const done = await api(`/api/v1/requests/${order.id}/assign`, {
    method: "POST", body: { caregiver_id: caregiver.caregiver_id, reason: reason || undefined },
  });
  toast(T("console.assigned", { id: order.id, name: caregiver.name }));
  document.getElementById("assign-panel").hidden = true;
  track(done, order.elder_name);
  await loadEscalated();
}

startConsole().catch(failed);
