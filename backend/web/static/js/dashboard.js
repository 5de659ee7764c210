/* The community / street / district dashboard: the area's live queue, caregivers, map, capacity and figures. */
"use strict";

const Dash = { area: null, channel: null, live: null, map: null, trend: null, communities: [] };

/** The area shown: the staff member's own; operators and admins choose a district and a community. */
function ownArea(me) {
  if (me.community_id) return { key: "community_id", id: me.community_id, channel: `community:${me.community_id}` };
  if (me.street_id) return { key: "street_id", id: me.street_id, channel: `street:${me.street_id}` };
  if (me.district_id) return { key: "district_id", id: me.district_id, channel: `district:${me.district_id}` };
  return null;
}

function areaQuery() {
  return Dash.area ? `${Dash.area.key}=${Dash.area.id}` : "";
}

async function startDashboard() {
  const me = await Session.require(["admin", "operator", "community_staff"]);
  OrderDetail.services = await api("/api/v1/service-types");
  Dash.map = echarts.init(document.getElementById("map"));
  Dash.trend = echarts.init(document.getElementById("trend"));
  window.addEventListener("resize", () => { Dash.map.resize(); Dash.trend.resize(); });
  Dash.live = new Live(onDashEvent, () => reloadOrders()); // (re)subscribed: catch up with what came before
  OrderDetail.live = Dash.live; // an order's detail, open, follows its new proof
  if (me.role === "community_staff") {
    Dash.area = ownArea(me);
    await nameArea(me);
  } else {
    await setUpPicker();
  }
  follow();
  await loadAll();
  setInterval(() => loadAll().catch(failed), 60000); // waiting times and SLA colours move on their own
}

async function nameArea(me) {
  const title = document.getElementById("area-title");
  const districts = await api("/api/v1/districts");
  if (me.community_id || me.street_id) {
    const all = await api(`/api/v1/communities${me.street_id ? `?street_id=${me.street_id}` : ""}`);
    Dash.communities = me.community_id ? all.filter((c) => c.id === me.community_id) : all;
    const c = Dash.communities[0];
    if (me.community_id && c) title.textContent = `${T("dash.title")} · ${c.name}`;
    else if (me.street_id) {
      const streets = c ? await api(`/api/v1/streets?district_id=${c.district_id}`) : [];
      const s = streets.find((x) => x.id === me.street_id);
      title.textContent = `${T("dash.title")} · ${s ? s.name : ""}`;
    }
  } else {
    const d = districts.find((x) => x.id === me.district_id);
    title.textContent = `${T("dash.title")} · ${d ? d.name : ""}`;
    Dash.communities = await api(`/api/v1/communities?district_id=${me.district_id}`);
  }
}

async function setUpPicker() {
  const picker = document.getElementById("area-picker");
  const districtSelect = document.getElementById("district");
  const communitySelect = document.getElementById("community");
  const params = new URLSearchParams(location.search);
  const districts = await api("/api/v1/districts");
  districtSelect.append(el("option", { value: "" }, T("dash.area.city")),
    ...districts.map((d) => el("option", { value: d.id }, d.name)));
  districtSelect.value = params.get("district_id") || "";
  async function fillCommunities() {
    const id = districtSelect.value;
    Dash.communities = id ? await api(`/api/v1/communities?district_id=${id}`) : [];
    communitySelect.replaceChildren(el("option", { value: "" }, T("dash.area.all_communities")),
      ...Dash.communities.map((c) => el("option", { value: c.id }, c.name)));
    communitySelect.hidden = !id;
  }
  await fillCommunities();
  communitySelect.value = params.get("community_id") || "";
  function choose() {
    const community = communitySelect.value, district = districtSelect.value;
    Dash.area = community ? { key: "community_id", id: Number(community), channel: `community:${community}` }
      : district ? { key: "district_id", id: Number(district), channel: `district:${district}` } : null;
    const query = new URLSearchParams();
    if (district) query.set("district_id", district);
    if (community) query.set("community_id", community);
    history.replaceState(null, "", `${location.pathname}${query.toString() ? "?" + query : ""}`);
  }
  districtSelect.addEventListener("change", async () => {
    await fillCommunities();
    choose(); follow(); loadAll().catch(failed);
  });
  communitySelect.addEventListener("change", () => { choose(); follow(); loadAll().catch(failed); });
  choose();
  picker.hidden = false;
  Dash.districts = districts;
}

/** Listen on the area's channel (the whole city: every district's). */
function follow() {
  const wanted = Dash.area ? [Dash.area.channel] : (Dash.districts || []).map((d) => `district:${d.id}`);
  for (const channel of [...Dash.live.channels.keys()]) if (!wanted.includes(channel)) Dash.live.unsubscribe(channel);
  for (const channel of wanted) Dash.live.subscribe(channel);
}

const reloadFigures = debounce(() => loadFigures().catch(failed), 5000); // the day's figures move slowly
const reloadOrders = debounce(() => {
  Promise.all([loadQueue(), loadCaregivers()]).then(drawAreaMap).catch(failed);
  reloadVisits();
  reloadFigures();
}, 250);
const reloadCapacity = debounce(() => loadCapacity().catch(failed), 500);

const reloadVisits = debounce(() => loadVisits().catch(failed), 2000);

function onDashEvent(channel, event, data) {
  OrderDetail.onEvent(channel, event, data);
  if (event.startsWith("request.") || event.startsWith("offer.") || event.startsWith("ladder.")) reloadOrders();
  if (event.startsWith("capacity.") || event.startsWith("bed") || event.startsWith("day_care.")) reloadCapacity();
}

async function loadAll() {
  await Promise.all([loadQueue(), loadCaregivers(), loadFigures(), loadCapacity(), loadVisits()]);
  drawAreaMap();
}

/* ---- Queue ---- */

async function loadQueue() {
  const queue = await api(`/api/v1/dashboard/queue?${areaQuery()}`);
  Dash.queue = queue;
  const open = Object.values(queue.counts).reduce((a, b) => a + b, 0);
  document.getElementById("kpi-open").textContent = Fmt.number(open);
  document.getElementById("kpi-late").textContent = Fmt.number(queue.late);
  document.getElementById("status-counts").replaceChildren(...Object.entries(queue.counts)
    .filter(([, n]) => n).map(([status, n]) => el("span", { class: `chip status-${status}` }, `${T(`status.${status}`)} ${n}`)));
  const body = document.querySelector("#queue tbody");
  body.replaceChildren(...queue.orders.map((o) => el("tr", { id: `q-${o.id}`, class: `sla-${o.sla}`, dataset: { status: o.status } },
    el("td", {}, orderButton(o.id, { elderName: o.elder_name, caregiverName: o.caregiver_name })),
    el("td", {}, statusBadge(o.status)),
    el("td", {}, priorityBadge(o.priority)),
    el("td", {}, o.elder_name),
    el("td", {}, LANG === "en" ? o.service_name_en : o.service_name_zh),
    el("td", {}, o.community_name),
    el("td", { class: "num" }, Fmt.duration(o.waiting_seconds)),
    el("td", {}, el("span", { class: `sla sla-${o.sla}`, title: o.sla_due_at ? Fmt.dateTime(o.sla_due_at) : "" }, T(`sla.${o.sla}`)), " ", breachBadge(o)),
    el("td", {}, o.caregiver_name || "–"))));
  document.getElementById("queue-empty").hidden = queue.orders.length > 0;
}

/* ---- Finished visits, with their proof: each opens beside its order ---- */

async function loadVisits() {
  const community = Dash.area && Dash.area.key === "community_id" ? `&community_id=${Dash.area.id}` : "";
  const area = Dash.area ? new Set(Dash.communities.map((c) => c.id)) : null; // a street's or district's
  const orders = (await api(`/api/v1/requests?status=completed&limit=100${community}`))
    .filter((o) => !area || area.has(o.community_id)).slice(0, 20);
  const names = new Map(Dash.communities.map((c) => [c.id, c.name]));
  document.querySelector("#visits tbody").replaceChildren(...orders.map((o) => el("tr", { id: `v-${o.id}` },
    el("td", {}, orderButton(o.id)),
    el("td", {}, orderServiceName(o.service_type)),
    el("td", {}, names.get(o.community_id) || "–"),
    el("td", {}, Fmt.dateTime(o.visit && o.visit.checkout_at)),
    el("td", {}, proofChip(o) || "–"))));
  document.getElementById("visits-empty").hidden = orders.length > 0;
}

/* ---- Caregivers ---- */

async function loadCaregivers() {
  const view = await api(`/api/v1/dashboard/caregivers?${areaQuery()}`);
  Dash.caregivers = view.caregivers;
  document.getElementById("cg-counts").replaceChildren(...["idle", "offered", "busy", "absent"]
    .filter((s) => view.counts[s]).map((s) => el("span", { class: `chip cg-${s}` }, `${T(`cg.${s}`)} ${view.counts[s]}`)));
  const list = document.getElementById("caregivers");
  list.replaceChildren(...(view.caregivers.length ? view.caregivers.map((c) => el("li", { class: `cg cg-${c.state}`, dataset: { caregiver: c.id } },
    el("span", { class: "name" }, c.name),
    el("span", { class: "muted small" }, c.provider_name),
    el("span", { class: `chip cg-${c.state}` }, T(`cg.${c.state}`), c.request_id ? ` #${c.request_id}` : "")))
    : [el("li", { class: "muted" }, T("dash.caregivers_empty"))]));
}

/* ---- Figures ---- */

async function loadFigures() {
  const figures = await api(`/api/v1/dashboard/figures?${areaQuery()}&days=14`);
  const today = figures.today;
  document.getElementById("kpi-orders").textContent = Fmt.number(today.orders);
  document.getElementById("kpi-accept").textContent = Fmt.duration(today.median_accept_seconds);
  document.getElementById("kpi-completion").textContent = Fmt.percent(today.completion_rate);
  document.getElementById("kpi-satisfaction").textContent = today.satisfaction != null ? Fmt.number(today.satisfaction, 1) : "–";
  Dash.trend.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { bottom: 0, textStyle: { fontSize: 14 } },
    grid: { left: 40, right: 48, top: 16, bottom: 48 },
    xAxis: { type: "category", data: figures.days.map((d) => Fmt.day(d.day)), axisLabel: { fontSize: 13 } },
    yAxis: [{ type: "value", minInterval: 1 }, { type: "value", name: "", splitLine: { show: false } }],
    series: [
      { name: T("dash.trend.orders"), type: "bar", data: figures.days.map((d) => d.orders), itemStyle: { color: "#1849a9" } },
      { name: T("dash.trend.completed"), type: "bar", data: figures.days.map((d) => d.completed), itemStyle: { color: "#027a48" } },
      { name: T("dash.trend.accept"), type: "line", yAxisIndex: 1, itemStyle: { color: "#b54708" },
        data: figures.days.map((d) => d.median_accept_seconds != null ? Math.round(d.median_accept_seconds / 6) / 10 : null) },
    ],
  }, true);
}

/* ---- Capacity ---- */

async function loadCapacity() {
  const query = areaQuery();
  const [beds, centres] = await Promise.all([
    api(`/api/v1/capacity/summary?${query}`),
    api(`/api/v1/day-care/centres?${query}`),
  ]);
  document.getElementById("beds").replaceChildren(el("dl", { class: "facts" },
    el("dt", {}, T("dash.beds.free")), el("dd", { id: "beds-free", class: "big" }, Fmt.number(beds.free)),
    el("dt", {}, T("dash.beds.total")), el("dd", {}, Fmt.number(beds.total)),
    el("dt", {}, T("dash.beds.nursing")), el("dd", {}, Fmt.percent(beds.nursing_share))));
  document.getElementById("daycare").replaceChildren(...(centres.length ? centres.map((c) => el("li", {},
    el("span", {}, c.name), " ", el("strong", {}, T("dash.daycare.left", { left: c.today.free, places: c.today.places }))))
    : [el("li", { class: "muted" }, T("common.none"))]));
}

/* ---- Map ---- */

function drawAreaMap() {
  if (!Dash.queue || !Dash.caregivers) return;
  const layers = [
    { name: T("dash.map.communities"), color: MapColors.community, symbol: "diamond", size: 9, labels: Dash.communities.length <= 30,
      points: Dash.communities.map((c) => ({ lon: c.lon, lat: c.lat, label: c.name, short: c.name })) },
    { name: T("dash.map.caregivers"), color: MapColors.caregiver, symbol: "triangle", size: 12,
      points: Dash.caregivers.map((c) => ({ lon: c.lon, lat: c.lat, label: `${c.name} · ${T(`cg.${c.state}`)}` })) },
    { name: T("dash.map.orders"), color: MapColors.ok, size: 14,
      points: Dash.queue.orders.map((o) => ({ lon: o.lon, lat: o.lat, color: MapColors[o.sla],
        label: `#${o.id} ${o.elder_name} · ${T(`status.${o.status}`)} · ${T(`sla.${o.sla}`)}` })) },
  ];
  drawMap(Dash.map, layers);
}

startDashboard().catch(failed);
