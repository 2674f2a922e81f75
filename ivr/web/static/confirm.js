// Forms that change a ticket for everyone ask first: <form data-confirm="… {choice} …">,
// {choice} being the text of the form's <select data-confirm-choice> option chosen.
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  const message = form.dataset ? form.dataset.confirm : undefined;
  if (!message) return;
  const select = form.querySelector("select[data-confirm-choice]");
  const choice = select ? select.options[select.selectedIndex].text : "";
  if (!window.confirm(message.replace("{choice}", choice))) event.preventDefault();
});
