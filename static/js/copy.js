// Copy buttons: <button data-copy="element-id" hidden> copies that element's text
// (data-copied="…" says what is on the clipboard; the default speaks of a key).
// The button stays hidden without JavaScript (the text can still be selected by hand).
// The clipboard API needs a secure context and permission; where it fails, the text
// is selected instead, so that Ctrl+C (or the phone's Copy) finishes the job.
(() => {
  const selectText = (element) => {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  };

  const say = (button, text) => {
    const status = button.parentElement.querySelector(".copy-status");
    if (status) status.textContent = text;
  };

  document.querySelectorAll("button[data-copy]").forEach((button) => {
    const target = document.getElementById(button.dataset.copy);
    if (!target) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const text = target.textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
        say(button, button.dataset.copied || "The key is on your clipboard.");
      } catch {
        selectText(target);
        say(button, "Selected: press Ctrl+C (⌘C on a Mac) to copy it.");
      }
    });
  });
})();
