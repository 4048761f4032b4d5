// CSV export of what a page shows, made in the browser (no server round trip): RFC 4180
// quoting, a UTF-8 byte-order mark so spreadsheet programs read Indonesian text right, and
// cells that a spreadsheet would run as a formula (=, +, -, @ first) prefixed with '.

/** One CSV text from rows of cells (numbers stay numbers; null/undefined become empty). */
export function toCsv(rows) {
  return rows.map((row) => row.map(cell).join(",")).join("\r\n") + "\r\n";
}

function cell(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return String(value);
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Offer `rows` as a download named `filename`. */
export function downloadCsv(filename, rows) {
  const blob = new Blob(["\ufeff", toCsv(rows)], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
