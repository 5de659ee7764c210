/* An order's detail for supervisors (the console, the dashboard, the bureau): its visit beside it, with the visit's
   proof — each photo or signature with its kind, time, place and hash, the picture itself read through the API's
   authenticated route (never cached, every read audited) — and a warning when the visit cannot be paid as it is. */
"use strict";

const OrderDetail = {
  dialog: null,
  current: null, // { id, context, subscribed }
  pictures: [], // object URLs of the pictures shown, released on close
  services: null, // the catalogue, read once
  live: null, // the page's live socket, when it has one: the detail follows its order while open
  reload: null,
};

/** The catalogue's name of a service in the page's language (its code while unknown). */
function orderServiceName(code) {
  const s = (OrderDetail.services || []).find((x) => x.code === code);
  return s ? (LANG === "en" ? s.name_en : s.name_zh) : code;
}

/** The proof items a service requires, in words: 门口照片、老人确认（签名或验证码）. */
function proofItems(items) {
  return items.map((item) => T(`proof.item.${item}`)).join(LANG === "en" ? ", " : "、");
}

/** What stops the visit from being paid as it is (missing proof, too short, checked in away), or nothing. */
function visitProblems(visit) {
  if (!visit) return [];
  const problems = [];
  if (visit.proof_missing.length) problems.push("missing");
  if (visit.too_short) problems.push("short");
  if (visit.location_flagged) problems.push("location");
  return problems;
}

/** A small chip for a list of orders: the proof complete, or what is wrong with the visit; null before a visit. */
function proofChip(order) {
  const visit = order.visit;
  if (!visit || !visit.checkout_at) return null;
  const problems = visitProblems(visit);
  const kind = problems[0] || "ok";
  return el("span", { class: `badge proof-flag ${kind === "ok" ? "ok" : "no"}`, dataset: { proof: kind } },
    T(`proof.flag.${kind}`));
}

/** A button that opens the order's detail: `label` (its number by default), with what the page knows of it. */
function orderButton(orderId, context = {}, label = null) {
  return el("button", {
    type: "button", class: "link order-open", dataset: { order: orderId },
    onclick: () => OrderDetail.open(orderId, context).catch(failed),
  }, label || `#${orderId}`);
}

OrderDetail.open = async function (orderId, context = {}) {
  if (!this.dialog) this.make();
  this.release();
  this.unfollow();
  this.current = { id: orderId, context, subscribed: false };
  const body = this.dialog.querySelector(".order-body");
  this.dialog.querySelector("#order-detail-h").textContent = T("order.title", { id: orderId });
  body.replaceChildren(el("p", { class: "muted" }, T("common.loading")));
  if (!this.dialog.open) this.dialog.showModal();
  if (this.live && !this.live.channels.has(`request:${orderId}`)) {
    this.live.subscribe(`request:${orderId}`);
    this.current.subscribed = true;
  }
  await this.render();
};

OrderDetail.make = function () {
  this.dialog = el("dialog", { id: "order-detail", class: "order-detail", "aria-labelledby": "order-detail-h" },
    el("div", { class: "row spread" },
      el("h2", { id: "order-detail-h" }),
      el("button", { type: "button", class: "link", onclick: () => this.dialog.close() }, T("common.close"))),
    el("div", { class: "order-body", "aria-live": "polite" }));
  this.dialog.addEventListener("close", () => { this.release(); this.unfollow(); this.current = null; });
  document.body.append(this.dialog);
  this.reload = debounce(() => { if (this.current) this.render().catch(failed); }, 300);
};

/** Told of the page's live events: the open order's new proof or status shows without asking. */
OrderDetail.onEvent = function (channel, event, data) {
  if (this.current && data.request_id === this.current.id && (event === "visit.proof" || event.startsWith("request."))) {
    this.reload();
  }
};

OrderDetail.unfollow = function () {
  if (this.current && this.current.subscribed && this.live) this.live.unsubscribe(`request:${this.current.id}`);
};

OrderDetail.release = function () {
  for (const url of this.pictures) URL.revokeObjectURL(url);
  this.pictures = [];
};

OrderDetail.render = async function () {
  const { id, context } = this.current;
  if (!this.services) this.services = await api("/api/v1/service-types").catch(() => []);
  const order = await api(`/api/v1/requests/${id}`);
  let proofs = [], refused = null;
  if (order.visit) {
    // The full records (place, accuracy): the proof's own route, which says who may read them.
    proofs = await api(`/api/v1/requests/${id}/proofs`).catch((error) => {
      if (!(error instanceof ApiError) || ![403, 404].includes(error.status)) throw error;
      refused = error;
      return [];
    });
  }
  if (!this.current || this.current.id !== id) return; // another order was opened meanwhile
  this.release();
  const caregiver = context.caregiverName || (order.assigned_caregiver_id ? `#${order.assigned_caregiver_id}` : "–");
  const body = this.dialog.querySelector(".order-body");
  body.replaceChildren(
    el("div", { class: "row" }, statusBadge(order.status), priorityBadge(order.priority)),
    el("dl", { class: "facts" },
      el("dt", {}, T("order.service")), el("dd", {}, orderServiceName(order.service_type)),
      el("dt", {}, T("order.elder")), el("dd", {}, context.elderName || `#${order.elder_id}`),
      el("dt", {}, T("order.caregiver")), el("dd", {}, caregiver),
      el("dt", {}, T("order.created")), el("dd", {}, Fmt.dateTime(order.created_at)),
      order.window_start ? [el("dt", {}, T("order.window")),
        el("dd", {}, `${Fmt.dateTime(order.window_start)} – ${Fmt.time(order.window_end)}`)] : null),
    el("h3", {}, T("order.visit")),
    order.visit ? this.visit(order, proofs, refused) : el("p", { class: "muted" }, T("order.no_visit")));
  await Promise.all(proofs.map((proof) => this.picture(order.id, proof)));
};

/** The visit: check-in and out, the elder's confirmation, the warnings, then each proof. */
OrderDetail.visit = function (order, proofs, refused) {
  const visit = order.visit;
  const accuracy = visit.checkin_accuracy_m != null ? T("visit.accuracy", { accuracy: Fmt.distance(visit.checkin_accuracy_m) }) : "";
  const seconds = visit.checkout_at ? (new Date(visit.checkout_at) - new Date(visit.checkin_at)) / 1000 : null;
  const confirmed = visit.confirmed_by
    ? `${T(`visit.confirmed.${visit.confirmed_by}`)} · ${Fmt.dateTime(visit.confirmed_at)}` : T("visit.unconfirmed");
  return el("div", { class: "visit", id: "order-visit" },
    this.warnings(visit, seconds),
    el("dl", { class: "facts" },
      el("dt", {}, T("visit.checkin")),
      el("dd", {}, Fmt.dateTime(visit.checkin_at), " · ", T("visit.from_home", { distance: Fmt.distance(visit.checkin_distance_m) }), accuracy),
      el("dt", {}, T("visit.checkout")), el("dd", {}, visit.checkout_at ? Fmt.dateTime(visit.checkout_at) : T("visit.not_out")),
      el("dt", {}, T("visit.duration")), el("dd", {}, seconds != null ? Fmt.duration(seconds) : "–"),
      el("dt", {}, T("visit.confirmed")), el("dd", { class: visit.confirmed_by ? "" : "warn" }, confirmed),
      el("dt", {}, T("visit.required")),
      el("dd", {}, visit.proof_required.length ? proofItems(visit.proof_required) : T("common.none"))),
    el("h3", {}, T("proof.title")),
    refused ? el("p", { class: "notice" }, T("proof.forbidden"))
      : this.proofList(proofs, visit));
};

OrderDetail.warnings = function (visit, seconds) {
  const notes = [];
  if (visit.proof_missing.length) {
    const key = visit.checkout_at ? "warn.missing" : "warn.missing_open";
    notes.push(el("li", { dataset: { warning: "missing" } }, T(key, { items: proofItems(visit.proof_missing) })));
  }
  if (visit.too_short) {
    notes.push(el("li", { dataset: { warning: "short" } },
      T("warn.too_short", { duration: Fmt.duration(seconds), min: Fmt.number(visit.min_minutes, 1) })));
  }
  if (visit.location_flagged) {
    notes.push(el("li", { dataset: { warning: "location" } },
      T("warn.location", { distance: Fmt.distance(visit.checkin_distance_m) })));
  }
  return notes.length ? el("ul", { class: "proof-warnings", role: "alert" }, notes) : null;
};

OrderDetail.proofList = function (proofs, visit) {
  const items = proofs.map((proof) => {
    const place = proof.lat != null
      ? T("proof.place_value", { lat: proof.lat.toFixed(5), lon: proof.lon.toFixed(5) })
        + (proof.accuracy_m != null ? T("visit.accuracy", { accuracy: Fmt.distance(proof.accuracy_m) }) : "")
        + (proof.distance_m != null ? ` · ${T("visit.from_home", { distance: Fmt.distance(proof.distance_m) })}` : "")
      : T("proof.place_unknown");
    return el("li", { class: "proof", id: `proof-${proof.id}`, dataset: { kind: proof.kind, proof: proof.id } },
      el("div", { class: "proof-picture" }, el("span", { class: "muted small" }, T("common.loading"))),
      el("dl", { class: "facts small" },
        el("dt", {}, T("proof.kind")), el("dd", { class: "proof-kind" }, el("strong", {}, T(`proof.kind.${proof.kind}`))),
        el("dt", {}, T("proof.taken")), el("dd", { class: "proof-time" }, Fmt.dateTime(proof.taken_at)),
        el("dt", {}, T("proof.place")), el("dd", { class: "proof-place" }, place),
        el("dt", {}, T("proof.hash")),
        el("dd", { class: "proof-hash", title: proof.sha256 }, el("code", {}, `${proof.sha256.slice(0, 12)}…`))));
  });
  if (visit.confirmed_by === "code") {
    items.push(el("li", { class: "proof", dataset: { kind: "code" } },
      el("div", { class: "proof-picture code", "aria-hidden": "true" }, "123"),
      el("dl", { class: "facts small" },
        el("dt", {}, T("proof.kind")), el("dd", { class: "proof-kind" }, el("strong", {}, T("proof.kind.code"))),
        el("dt", {}, T("proof.taken")), el("dd", { class: "proof-time" }, Fmt.dateTime(visit.confirmed_at)),
        el("dt", {}, T("proof.place")), el("dd", { class: "muted" }, T("proof.code_note")))));
  }
  return items.length ? el("ul", { class: "plain proofs" }, items) : el("p", { class: "muted" }, T("proof.none"));
};

/** The picture through the authenticated route, shown from memory (the file is never cached by the browser). */
OrderDetail.picture = async function (orderId, proof) {
  let url = null, problem = null;
  try {
    const response = await api(`/api/v1/requests/${orderId}/proofs/${proof.id}/content`, { raw: true });
    url = URL.createObjectURL(await response.blob());
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    problem = error.message; // a file gone missing is shown where the picture would be, for someone to act on
  }
  const slot = document.querySelector(`#proof-${proof.id} .proof-picture`);
  if (!slot || !this.current || this.current.id !== orderId) {
    if (url) URL.revokeObjectURL(url);
    return;
  }
  if (problem !== null) {
    slot.replaceChildren(el("span", { class: "warn small" }, T("proof.unreadable", { message: problem })));
    return;
  }
  this.pictures.push(url);
  const kind = T(`proof.kind.${proof.kind}`);
  slot.replaceChildren(el("a", { href: url, target: "_blank", rel: "noopener", title: T("proof.open") },
    el("img", { class: "proof-thumb", src: url, alt: `${kind} · ${Fmt.dateTime(proof.taken_at)}` })));
};
