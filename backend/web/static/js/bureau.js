/* The civil-affairs bureau's view: every district's orders, response, beds, cover and subsidy; exports. */
"use strict";

const Bureau = { charts: {}, live: null };

async function startBureau() {
  await Session.require(["admin", "operator"]);
  OrderDetail.services = await api("/api/v1/service-types");
  for (const id of ["orders", "beds", "cover", "subsidy"]) Bureau.charts[id] = echarts.init(document.getElementById(`${id}-chart`));
  window.addEventListener("resize", () => Object.values(Bureau.charts).forEach((c) => c.resize()));
  Bureau.live = new Live((channel, event) => {
    if (event === "request.status" || event === "capacity.changed") reloadCity();
  }, () => reloadCity());
  for (const d of await api("/api/v1/districts")) Bureau.live.subscribe(`district:${d.id}`);
  startStatements().catch(failed); // beside the city's table, not before it
  await loadCity();
  setInterval(() => loadCity().catch(failed), 120000);
}

const reloadCity = debounce(() => loadCity().catch(failed), 3000); // a busy city: at most one reload in 3 s

function districtRow(row) {
  const beds = `${Fmt.number(row.beds_free)} / ${Fmt.number(row.beds_total)}`;
  return el("tr", { dataset: { district: row.district_id } },
    el("th", { scope: "row" }, row.district_id ? row.name : T("bureau.total")),
    el("td", { class: "num" }, Fmt.number(row.orders_today)),
    el("td", { class: "num" }, Fmt.number(row.orders_30d)),
    el("td", { class: "num" }, Fmt.duration(row.median_accept_seconds_30d)),
    el("td", { class: "num" }, Fmt.percent(row.completion_rate_30d)),
    el("td", { class: "num" }, row.satisfaction_30d != null ? Fmt.number(row.satisfaction_30d, 1) : "–"),
    el("td", { class: "num" }, beds),
    el("td", { class: "num" }, Fmt.percent(row.nursing_share)),
    el("td", { class: "num" }, Fmt.percent(row.social_share)),
    el("td", { class: "num" }, Fmt.percent(row.provider_cover_rate)),
    el("td", { class: "num" }, Fmt.percent(row.institution_cover_rate)),
    el("td", { class: "num" }, Fmt.percent(row.elder_cover_rate)),
    el("td", { class: "num" }, `${Fmt.yuan(row.subsidy_spent_yuan)}${row.subsidy_budget_yuan != null ? " / " + Fmt.yuan(row.subsidy_budget_yuan) : ""}`));
}

async function loadCity() {
  const city = await api("/api/v1/dashboard/city");
  document.getElementById("bureau-day").textContent = Fmt.dateTime(new Date().toISOString());
  document.querySelector("#city tbody").replaceChildren(...city.districts.map((r) => districtRow(r)));
  document.querySelector("#city tfoot").replaceChildren(districtRow(city.totals));
  const names = city.districts.map((d) => d.name);
  const base = {
    animation: false, tooltip: { trigger: "axis" }, legend: { bottom: 0, textStyle: { fontSize: 14 } },
    grid: { left: 56, right: 16, top: 16, bottom: 72 },
    xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: 30, fontSize: 12 } },
  };
  Bureau.charts.orders.setOption({ ...base, yAxis: { type: "value", minInterval: 1 },
    series: [{ name: T("bureau.col.orders_30d"), type: "bar", itemStyle: { color: "#1849a9" }, data: city.districts.map((d) => d.orders_30d) }] }, true);
  Bureau.charts.beds.setOption({ ...base, yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: T("bureau.occupied"), type: "bar", stack: "beds", itemStyle: { color: "#667085" }, data: city.districts.map((d) => d.beds_total - d.beds_free) },
      { name: T("dash.beds.free"), type: "bar", stack: "beds", itemStyle: { color: "#027a48" }, data: city.districts.map((d) => d.beds_free) },
    ] }, true);
  const pct = (v) => (v == null ? null : Math.round(v * 1000) / 10);
  Bureau.charts.cover.setOption({ ...base, yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
    series: [
      { name: T("bureau.provider_cover"), type: "bar", itemStyle: { color: "#1849a9" }, data: city.districts.map((d) => pct(d.provider_cover_rate)) },
      { name: T("bureau.institution_cover"), type: "bar", itemStyle: { color: "#6941c6" }, data: city.districts.map((d) => pct(d.institution_cover_rate)) },
      { name: T("bureau.elder_cover"), type: "bar", itemStyle: { color: "#b54708" }, data: city.districts.map((d) => pct(d.elder_cover_rate)) },
    ] }, true);
  const yuan = (fen) => (fen == null ? null : fen / 100); // a bar's height; the tooltip shows the amount exactly
  Bureau.charts.subsidy.setOption({ ...base, yAxis: { type: "value" },
    tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "–" : Fmt.yuan(v.toFixed(2))) },
    series: [
      { name: T("bureau.spent"), type: "bar", itemStyle: { color: "#027a48" }, data: city.districts.map((d) => yuan(d.subsidy_spent_fen)) },
      { name: T("bureau.budget"), type: "bar", itemStyle: { color: "#98a2b3" }, data: city.districts.map((d) => yuan(d.subsidy_budget_fen)) },
    ] }, true);
}

async function download(format) {
  const response = await api(`/api/v1/dashboard/city/export?format=${format}`, { raw: true });
  const blob = await response.blob();
  const name = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/)?.[1] || `city.${format}`;
  const link = el("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

document.getElementById("export-xlsx").addEventListener("click", () => download("xlsx").catch(failed));
document.getElementById("export-csv").addEventListener("click", () => download("csv").catch(failed));

startBureau().catch(failed);
