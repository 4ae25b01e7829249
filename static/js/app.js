// Site-wide behaviour, loaded as a file so that the CSP needs no 'unsafe-inline'.
document.addEventListener("htmx:configRequest", (event) => {
  const token = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (token) event.detail.headers["X-CSRFToken"] = token.value;
});
