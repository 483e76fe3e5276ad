// The web form page: a button that copies the embed snippet (the snippet can be selected by hand without it).
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-copy]")) {
    const source = document.querySelector(button.dataset.copy);
    const status = button.parentElement.querySelector("[data-copy-status]");
    if (!source || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.value);
        if (status) status.textContent = "Copied.";
      } catch {
        source.select();
        if (status) status.textContent = "Press Ctrl+C (⌘C) to copy.";
      }
    });
  }
});
