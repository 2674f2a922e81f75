// The live calls page: follows the server-sent event stream and redraws the table.
"use strict";
const body = document.getElementById("live");
const source = new EventSource(body.dataset.stream);
source.onmessage = (message) => {
  const calls = JSON.parse(message.data);
  document.getElementById("count").textContent = calls.length;
  body.replaceChildren(...calls.map((call) => {
    const row = document.createElement("tr");
    const link = document.createElement("a");
    link.href = body.dataset.calls + "/" + encodeURIComponent(call.id);
    link.textContent = call.started;
    const first = document.createElement("td");
    first.append(link);
    row.append(first);
    for (const key of ["caller", "channel", "language", "node", "seconds"]) {
      const cell = document.createElement("td");
      cell.textContent = call[key];
      row.append(cell);
    }
    return row;
  }));
};
