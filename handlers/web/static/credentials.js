// The credential this tab sends: an API key (X-API-Key) or a bearer token (Authorization),
// kept in sessionStorage. Not localStorage: it would outlive the tab and reach every other tab.
// Not a cookie: the browser would attach it to requests other sites' pages make (CSRF). It is
// never put in a URL and never written to the console.

const STORAGE_KEY = "qers.credential";
const KINDS = new Set(["api-key", "bearer"]);
// Shapes that tell the kinds apart: a QERS key, and a JWT's three base64url parts.
const API_KEY_SHAPE = /^qers_[0-9a-f]{16}_\S+$/;
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** The saved credential, {kind, value}, or null. */
export function credential() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    return stored && KINDS.has(stored.kind) && stored.value ? stored : null;
  } catch {
    return null;
  }
}

/** The header that carries the saved credential (none when nothing is saved). */
export function credentialHeaders() {
  const stored = credential();
  if (!stored) return {};
  return stored.kind === "bearer" ? { Authorization: `Bearer ${stored.value}` } : { "X-API-Key": stored.value };
}

function parts() {
  return {
    panel: document.querySelector("details.auth"),
    form: document.getElementById("auth-form"),
    state: document.getElementById("auth-state"),
    status: document.getElementById("auth-status"),
  };
}

function describe(stored) {
  if (!stored) return "none";
  return stored.kind === "bearer" ? "bearer token" : "API key";
}

/** The kinds a 401's `WWW-Authenticate` offers ("api-key", "bearer"). */
function offered(challenge) {
  const schemes = String(challenge || "").toLowerCase();
  return [...(/\bapikey\b/.test(schemes) ? ["api-key"] : []), ...(/\bbearer\b/.test(schemes) ? ["bearer"] : [])];
}

/** Open the credential form after a 401; `challenge`: the answer's WWW-Authenticate. */
export function revealCredentials(challenge) {
  const { panel, form } = parts();
  if (!panel) return;
  panel.open = true;
  const kinds = offered(challenge);
  // Only one kind enabled on the server: choose it, unless a credential was already saved.
  if (kinds.length === 1 && !credential()) form.elements.kind.value = kinds[0];
}

/** Open the credential form and move the focus to its value field. */
export function focusCredentials() {
  const { panel, form } = parts();
  if (!panel) return;
  panel.open = true;
  form.elements.value.focus();
}

/** Wire the header's form: Save and Forget, then reload unless the page holds edited input. */
export function setupCredentials() {
  const { form, state, status } = parts();
  if (!form) return;
  const stored = credential();
  state.textContent = describe(stored);
  if (stored) form.elements.kind.value = stored.kind;
  let edited = false; // a form of the page (not this one) the user has typed into
  document.getElementById("main").addEventListener("input", () => (edited = true));
  const apply = (message) => {
    form.elements.value.value = "";
    state.textContent = describe(credential());
    // A page that could not load, or shows nothing typed, is loaded again with the new
    // credential; a half-filled form is kept and its next request uses it.
    if (!edited || document.body.dataset.ready === "error") location.reload();
    else status.textContent = `${message} Your input on this page is kept; its next request uses it.`;
  };
  form.elements.value.addEventListener("input", () => {
    const value = form.elements.value.value.trim();
    if (API_KEY_SHAPE.test(value)) form.elements.kind.value = "api-key";
    else if (JWT_SHAPE.test(value)) form.elements.kind.value = "bearer";
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = form.elements.value.value.trim();
    if (!value) {
      status.textContent = "Enter an API key or a token first.";
      form.elements.value.focus();
      return;
    }
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ kind: form.elements.kind.value, value }));
    apply("Saved for this tab.");
  });
  document.getElementById("auth-clear").addEventListener("click", () => {
    sessionStorage.removeItem(STORAGE_KEY);
    apply("Forgotten.");
  });
}
