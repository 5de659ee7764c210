/* A plain map drawn from coordinates (no tiles can be fetched): points on a light background, north up, over
   Suzhou's district outlines (vendored GeoJSON, WGS-84 like every point here) once they have loaded. */
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

/** The districts' outlines: the page names the file on this script's tag (`data-outlines`). Loaded once, then every
 * map drawn so far is drawn again with them; a map never waits for them, and does without them if they fail. */
const Outlines = { url: document.currentScript?.dataset.outlines, districts: null, loading: null, drawn: new Map() };

function loadOutlines() {
  if (Outlines.loading || !Outlines.url) return;
  Outlines.loading = fetch(Outlines.url)
    .then((response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.json();
    })
    .then((geo) => {
      Outlines.districts = geo.features.map((f) => ({
        name: LANG === "en" ? f.properties.name_en : f.properties.name,
        label: f.properties.label,
        rings: f.geometry.coordinates.flat(), // exteriors and holes alike: borders to draw, even–odd to test
      }));
      for (const [chart, layers] of Outlines.drawn) if (!chart.isDisposed()) drawMap(chart, layers);
      Outlines.drawn.clear();
    })
    .catch((error) => {
      console.warn("district outlines not loaded; the maps go on without them", error);
      Outlines.url = null; // not asked for again
      Outlines.drawn.clear();
    });
}

/** Whether a point lies in a district (even–odd over all its rings). */
function within(district, lon, lat) {
  return district.rings.reduce((inside, ring) => {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > lat) !== (yj > lat) && lon < xi + ((lat - yi) * (xj - xi)) / (yj - yi)) inside = !inside;
    }
    return inside;
  }, false);
}

/** Where each district in view is named: at its own label point when that is in view, else at the middle one of
 * the points of a 6 × 4 grid over the view that fall in it (a view closer than its label point still names it). */
function districtNames(bounds) {
  const { xmin, xmax, ymin, ymax } = bounds;
  const inView = ([lon, lat]) => lon >= xmin && lon <= xmax && lat >= ymin && lat <= ymax;
  const grid = [];
  for (let i = 0.5; i < 6; i++) {
    for (let j = 0.5; j < 4; j++) grid.push([xmin + (i / 6) * (xmax - xmin), ymin + (j / 4) * (ymax - ymin)]);
  }
  return Outlines.districts.flatMap((d) => {
    if (inView(d.label)) return [{ name: d.name, value: d.label }];
    const mine = grid.filter(([lon, lat]) => within(d, lon, lat));
    if (!mine.length) return [];
    const mid = [0, 1].map((k) => mine.reduce((sum, p) => sum + p[k], 0) / mine.length);
    const away = (p) => Math.hypot(p[0] - mid[0], p[1] - mid[1]);
    return [{ name: d.name, value: mine.reduce((best, p) => (away(p) < away(best) ? p : best)) }];
  });
}

/** Thin borders and the districts' names, beneath the points (z 1 against their 2) and deaf to the mouse. */
function outlineSeries(bounds) {
  if (!Outlines.districts) return [];
  const quiet = { silent: true, z: 1, tooltip: { show: false }, legendHoverLink: false };
  return [
    { ...quiet, id: "district-borders", type: "lines", coordinateSystem: "cartesian2d", polyline: true, clip: true,
      lineStyle: { color: "#98a2b3", width: 1, opacity: 1 },
      data: Outlines.districts.flatMap((d) => d.rings.map((ring) => ({ name: d.name, coords: ring }))) },
    { ...quiet, id: "district-names", type: "scatter", symbolSize: 0,
      label: { show: true, position: "inside", formatter: "{b}", color: "#667085", fontSize: 13 },
      labelLayout: { hideOverlap: true }, data: districtNames(bounds) },
  ];
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
  if (!Outlines.districts && Outlines.url) {
    Outlines.drawn.set(chart, layers);
    loadOutlines();
  }
  chart.setOption({
    animation: false,
    backgroundColor: "#f5f7fa",
    grid: { left: 8, right: 72, top: 8, bottom: 28, show: true, borderColor: "#e4e7ec" }, // borders stop at its edge
    legend: { bottom: 0, textStyle: { fontSize: 14 }, data: layers.map((l) => l.name) },
    tooltip: { trigger: "item", formatter: (p) => asText(p.data.label) },
    xAxis: { type: "value", min: bounds.xmin, max: bounds.xmax, show: false },
    yAxis: { type: "value", min: bounds.ymin, max: bounds.ymax, show: false },
    series: [...outlineSeries(bounds), ...layers.map((layer) => ({
      name: layer.name,
      type: "scatter",
      symbol: layer.symbol || "circle",
      symbolSize: layer.size || 12,
      itemStyle: { color: layer.color, borderColor: "#fff", borderWidth: 1 },
      label: layer.labels ? { show: true, position: "right", formatter: (p) => p.data.short || "", fontSize: 12 } : undefined,
      data: layer.points.map((p) => ({
        value: [p.lon, p.lat], label: p.label, short: p.short, itemStyle: p.color ? { color: p.color } : undefined,
      })),
    }))],
  }, true);
}
