/* A plain map drawn from coordinates (no tiles can be fetched): points on a light background, north up. */
"use strict";

const MapColors = { late: "#b42318", warning: "#b54708", ok: "#027a48", caregiver: "#1849a9", community: "#667085" };

/** Bounds around the points with a margin, the longitude span widened by cos(latitude) so the map is not squashed. */
function mapBounds(points, aspect) {
  const lats = points.map((p) => p[1]), lons = points.map((p) => p[0]);
  let [s, n, w, e] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const midLat = (s + n) / 2, k = Math.cos((midLat * Math.PI) / 180);
  let height = Math.max(n - s, 0.004) * 1.25, width = Math.max((e - w) * k, 0.004) * 1.25;
  if (width / height < aspect) width = height * aspect; else height = width / aspect;
  const midLon = (w + e) / 2;
  return { xmin: midLon - width / k / 2, xmax: midLon + width / k / 2, ymin: midLat - height / 2, ymax: midLat + height / 2 };
}

/** Data is text, never HTML: names and addresses are escaped before ECharts puts them in a tooltip. */
const asText = (value) => echarts.format.encodeHTML(String(value ?? ""));

/** layers: [{name, color, symbol, size, points: [{lon, lat, label, value}]}]; points without a position (a
 * caregiver off duty, whose position the viewer may not see) are left off. */
function drawMap(chart, layers) {
  layers = layers.map((l) => ({ ...l, points: l.points.filter((p) => p.lat != null && p.lon != null) }));
  const all = layers.flatMap((l) => l.points.map((p) => [p.lon, p.lat]));
  const dom = chart.getDom();
  const bounds = all.length ? mapBounds(all, dom.clientWidth / Math.max(dom.clientHeight, 1))
    : { xmin: 120.5, xmax: 120.8, ymin: 31.2, ymax: 31.4 };
  chart.setOption({
    animation: false,
    backgroundColor: "#f5f7fa",
    grid: { left: 8, right: 72, top: 8, bottom: 28 },
    legend: { bottom: 0, textStyle: { fontSize: 14 } },
    tooltip: { trigger: "item", formatter: (p) => asText(p.data.label) },
    xAxis: { type: "value", min: bounds.xmin, max: bounds.xmax, show: false },
    yAxis: { type: "value", min: bounds.ymin, max: bounds.ymax, show: false },
    series: layers.map((layer) => ({
      name: layer.name,
      type: "scatter",
      symbol: layer.symbol || "circle",
      symbolSize: layer.size || 12,
      itemStyle: { color: layer.color, borderColor: "#fff", borderWidth: 1 },
      label: layer.labels ? { show: true, position: "right", formatter: (p) => p.data.short || "", fontSize: 12 } : undefined,
      data: layer.points.map((p) => ({
        value: [p.lon, p.lat], label: p.label, short: p.short, itemStyle: p.color ? { color: p.color } : undefined,
      })),
    })),
  }, true);
}
