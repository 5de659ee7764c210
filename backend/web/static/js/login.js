/* Sign in with the API's OAuth2 password form; go where the role works, or back where the person came from. */
"use strict";

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const error = document.getElementById("login-error");
  error.hidden = true;
  try {
    const token = await api("/api/v1/auth/token", {
      method: "POST", form: { username: form.get("username"), password: form.get("password") },
    });
    Session.token = token.access_token;
    const me = await api("/api/v1/users/me");
    const next = new URLSearchParams(location.search).get("next");
    location.assign(next && next.startsWith(SIGN_IN) ? next : homeOf(me.role));
  } catch (failure) {
    Session.token = null;
    error.textContent = failure.status === 401 || failure.status === 400 ? T("login.failed") : failure.message;
    error.hidden = false;
    document.getElementById("password").select();
  }
});
