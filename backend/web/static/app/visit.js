/* The visit itself in the caregiver's app: 出发, 签到 with the phone's position, photos, the elder's confirmation
   (her signature or the code texted to her) and 签退. Each goes through the Outbox, so it works with no signal; the
   rest of the app (shift, offers, today's visits) is caregiver.js. */
"use strict";

/** 出发 / 签到 / 签退: through the Outbox, with the time it was tapped. */
async function act(order, kind, extra = {}) {
  const label = T(ACTIONS[kind].label);
  const outcome = await Outbox.send({
    kind, label, requestId: order.id, path: `/mobile/v1/requests/${order.id}/${kind}`,
    json: { ...extra, at: new Date().toISOString() },
  });
  if (outcome.status === "queued") toast(T("cg.queued", { action: label, time: Fmt.time(new Date().toISOString()) }));
  await showToday();
}

async function checkIn(order) {
  toast(T("cg.locating"));
  let here;
  try {
    here = await position();
  } catch (_) {
    toast(T("cg.nolocation"), "error");
    return;
  }
  toast(T("cg.located", { accuracy: Math.round(here.accuracy_m) }));
  await act(order, "check-in", here);
}

/* Photos and the elder's confirmation */

function photoButton(order, proofKind, label) {
  return el("button", { type: "button", onclick: () => takePhoto(order, proofKind) }, T(label));
}

function takePhoto(order, proofKind) {
  const camera = document.getElementById("camera");
  camera.value = "";
  camera.onchange = async () => {
    const file = camera.files && camera.files[0];
    if (file) await sendProof(order, proofKind, file, file.name || "photo.jpg");
  };
  camera.click();
}

async function sendProof(order, proofKind, blob, filename) {
  const parts = [["kind", proofKind], ["file", blob, filename], ["at", new Date().toISOString()]];
  const here = await position().catch(() => null);
  if (here) parts.push(["lat", String(here.lat)], ["lon", String(here.lon)], ["accuracy_m", String(here.accuracy_m)]);
  const label = T(`cg.proof.${proofKind === "signature" ? "confirmation" : proofKind}`);
  const outcome = await Outbox.send({
    kind: "proofs", proofKind, label, requestId: order.id, path: `/mobile/v1/requests/${order.id}/proofs`, parts,
  });
  if (outcome.status === "queued") toast(T("cg.queued", { action: label, time: Fmt.time(new Date().toISOString()) }));
  else if (outcome.status === "sent") toast(T("cg.photo.taken"));
  await showToday();
}

let checkingOut = null;

function askCheckout(order) {
  checkingOut = order;
  App.signature.clear();
  document.getElementById("code").value = "";
  document.getElementById("code-sent").textContent = "";
  document.getElementById("checkout-notes").value = "";
  document.getElementById("confirm-dialog").showModal();
}

function bindCheckout() {
  App.signature = signaturePad(document.getElementById("signature"));
  document.getElementById("signature-clear").addEventListener("click", () => App.signature.clear());
  document.getElementById("code-send").addEventListener("click", async () => {
    try {
      const sent = await api(`/mobile/v1/requests/${checkingOut.id}/confirmation-code`, { method: "POST", body: {} });
      document.getElementById("code-sent").textContent = T("cg.confirm.sent", { phone: Fmt.phone(sent.sent_to) });
    } catch (error) {
      failed(error);
    }
  });
  const dialog = document.getElementById("confirm-dialog");
  dialog.addEventListener("close", async () => {
    const order = checkingOut;
    checkingOut = null;
    if (dialog.returnValue !== "checkout" || !order) return;
    if (!App.signature.empty) {
      const blob = await App.signature.blob();
      await sendProof(order, "signature", blob, "signature.png");
    }
    const code = document.getElementById("code").value.trim();
    const notes = document.getElementById("checkout-notes").value.trim();
    const extra = {};
    if (notes) extra.notes = notes;
    if (code) extra.confirmation_code = code;
    await act(order, "check-out", extra);
  });
}

/** A finger's signature on a canvas, as a PNG. */
function signaturePad(canvas) {
  const ink = canvas.getContext("2d");
  let drawing = false;
  const pad = {
    empty: true,
    clear() {
      ink.fillStyle = "#fff";
      ink.fillRect(0, 0, canvas.width, canvas.height);
      pad.empty = true;
    },
    blob() { return new Promise((resolve) => canvas.toBlob(resolve, "image/png")); },
  };
  const at = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * (canvas.width / box.width), (event.clientY - box.top) * (canvas.height / box.height)];
  };
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    ink.beginPath();
    ink.moveTo(...at(event));
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    ink.lineWidth = 3;
    ink.lineCap = "round";
    ink.strokeStyle = "#101828";
    ink.lineTo(...at(event));
    ink.stroke();
    pad.empty = false;
  });
  canvas.addEventListener("pointerup", () => { drawing = false; });
  pad.clear();
  return pad;
}
