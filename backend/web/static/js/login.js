/* Sign in with the API's OAuth2 password form; go where the role works, or back where the person came from. An
   account whose pages are elsewhere (a caregiver's, an elder's or a family's phone app; the staff's pages at a
   desk) is told where to sign in, and its token is not kept here: it would open nothing on this side. */
"use strict";

/** The other side's sign-in, for a role whose home is not on this one. */
const ELSEWHERE = {
  "/web/": { signIn: "/app/", words: "login.elsewhere.app" },
  "/app/": { signIn: "/web/", words: "login.elsewhere.web" },
};

function tellWhereToSignIn(home) {
  const notice = document.getElementById("login-elsewhere");
  const there = home && ELSEWHERE[SIGN_IN];
  if (there) notice.replaceChildren(T(there.words), " ", el("a", { href: there.signIn }, T(`${there.words}.link`)));
  else notice.replaceChildren(T("login.no_page"));
  notice.hidden = false;
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const error = document.getElementById("login-error");
  error.hidden = true;
  document.getElementById("login-elsewhere").hidden = true;
  try {
    const token = await api("/api/v1/auth/token", {
      method: "POST", form: { username: form.get("username"), password: form.get("password") },
    });
    Session.token = token.access_token;
    const me = await api("/api/v1/users/me");
    const home = homeOf(me.role);
    if (!home || !home.startsWith(SIGN_IN)) {
      Session.token = null;
      tellWhereToSignIn(home);
      return;
    }
    const next = new URLSearchParams(location.search).get("next");
    location.assign(next && next.startsWith(SIGN_IN) ? next : home);
  } catch (failure) {
    Session.token = null;
    error.textContent = failure.status === 401 || failure.status === 400 ? T("login.failed") : failure.message;
    error.hidden = false;
    document.getElementById("password").select();
  }
});
