/* The bureau's monthly statements, line by line: each line's result and its visit's proof (kinds with their short
   hashes, the elder's confirmation, what keeps it from being paid); a line's order opens with its visit's proof. */
"use strict";

const Statements = { list: [], lines: [] };
const LINES_SHOWN = 300; // a month of a large provider is tens of thousands of lines: the first ones, filtered
const PROOF_PROBLEMS = { missing_proof: "missing", too_short: "short", gps_flagged: "location" };

/** This month in Suzhou, as the month field wants it (2026-12). */
function thisMonth() {
  const parts = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, year: "numeric", month: "2-digit" }).formatToParts(new Date());
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part("year")}-${part("month")}`;
}

async function startStatements() {
  const month = document.getElementById("settle-month");
  month.value = new URLSearchParams(location.search).get("month") || thisMonth();
  document.getElementById("settle-form").addEventListener("submit", (event) => event.preventDefault());
  month.addEventListener("change", () => loadStatements().catch(failed));
  document.getElementById("settle-statement").addEventListener("change", () => loadLines().catch(failed));
  document.getElementById("settle-filter").addEventListener("change", drawLines);
  await loadStatements();
}

async function loadStatements() {
  const month = document.getElementById("settle-month").value;
  Statements.list = month ? await api(`/api/v1/settlements?month=${encodeURIComponent(month)}&limit=500`) : [];
  const select = document.getElementById("settle-statement");
  select.replaceChildren(...Statements.list.map((s) => el("option", { value: s.id }, T("bureau.statement_option", {
    provider: s.provider_name, revision: s.revision, status: T(`settlement.status.${s.status}`),
    included: Fmt.number(s.included), excluded: Fmt.number(s.excluded),
  }))));
  const current = Statements.list.find((s) => s.status !== "superseded") || Statements.list[0];
  select.disabled = !current;
  if (current) select.value = String(current.id);
  await loadLines();
}

async function loadLines() {
  const select = document.getElementById("settle-statement");
  const id = select.value;
  const lines = id ? await api(`/api/v1/settlements/${id}/lines`) : [];
  if (select.value !== id) return; // another statement was chosen meanwhile: its lines are on their way
  Statements.lines = lines;
  drawLines();
}

/** The line's proof in words: a chip per kind (its first file's short hash, + how many more) and who confirmed. */
function proofLabel(label) {
  if (!label) return [];
  return label.split(" ").map((part) => {
    const [kind, value] = part.split(":");
    if (kind === "confirmed") {
      return el("span", { class: "chip", dataset: { kind } }, T("line.confirmed", { how: T(`visit.confirmed.${value}`) }));
    }
    const [hash, more] = value.split("+");
    return el("span", { class: "chip", dataset: { kind }, title: hash },
      `${T(`proof.kind.${kind}`)} ${hash}${more ? ` +${more}` : ""}`);
  });
}

/** Paid with its proof complete, or what keeps the visit from being paid (nothing for a cancelled order). */
function lineProofStatus(line) {
  const problem = PROOF_PROBLEMS[line.reason];
  if (line.kind === "included") return el("span", { class: "badge ok", dataset: { proof: "ok" } }, T("proof.flag.ok"));
  if (problem) return el("span", { class: "badge no", dataset: { proof: problem } }, T(`proof.flag.${problem}`));
  return null;
}

function drawLines() {
  const filter = document.getElementById("settle-filter").value;
  const wanted = Statements.lines.filter((line) => filter === "all"
    || (filter === "excluded" && line.kind === "excluded") || (filter === "proof" && PROOF_PROBLEMS[line.reason]));
  const shown = wanted.slice(0, LINES_SHOWN);
  document.querySelector("#lines tbody").replaceChildren(...shown.map((line) => el("tr", {
    id: `line-${line.request_id}`, dataset: { kind: line.kind, reason: line.reason || "" },
  },
    el("td", {}, orderButton(line.request_id)),
    el("td", {}, Fmt.day(line.day)),
    el("td", {}, orderServiceName(line.service_type)),
    el("td", { class: line.kind === "excluded" ? "warn" : "" },
      line.kind === "included" ? T("line.included") : T("line.excluded", { reason: T(`line.reason.${line.reason}`) })),
    el("td", { class: "num" }, line.kind === "included" ? Fmt.yuan(line.amount_yuan) : "–"),
    el("td", {}, el("div", { class: "proof-chips" }, lineProofStatus(line), proofLabel(line.proof))))));
  const note = document.getElementById("settle-note");
  note.hidden = shown.length > 0 && shown.length === wanted.length;
  note.textContent = !Statements.list.length ? T("bureau.no_statements")
    : !shown.length ? T("bureau.lines_empty")
      : T("bureau.lines_more", { shown: Fmt.number(shown.length), total: Fmt.number(wanted.length) });
}
