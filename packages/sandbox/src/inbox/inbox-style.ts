/** The inbox page's stylesheet. */
export const inboxStyle: string = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9;
  --panel: #ffffff;
  --text: #1d2330;
  --muted: #667085;
  --line: #e3e6eb;
  --accent: #2f5bd3;
  --selected: #e8eefc;
  --danger: #c0362c;
  --code: #f1f3f6;
  --smtp: #5b6b82;
  --ses: #c7701b;
  --gmail: #c5372c;
  --graph: #1f6fc5;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15181e;
    --panel: #1c2028;
    --text: #e5e8ee;
    --muted: #98a2b3;
    --line: #2c323d;
    --accent: #7aa2ff;
    --selected: #26324d;
    --danger: #ff6b5f;
    --code: #232833;
  }
}
* { box-sizing: border-box; }
html, body { height: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); display: flex; flex-direction: column; }
button, input { font: inherit; color: inherit; }

.bar {
  display: flex; align-items: center; gap: 12px; padding: 10px 16px;
  background: var(--panel); border-bottom: 1px solid var(--line);
}
.brand { font-size: 16px; margin: 0 12px 0 0; white-space: nowrap; letter-spacing: -0.01em; }
.brand span { color: var(--muted); font-weight: 500; }
.search {
  flex: 1; max-width: 520px; padding: 7px 11px; border: 1px solid var(--line); border-radius: 8px;
  background: var(--bg); outline: none;
}
.search:focus { border-color: var(--accent); box-shadow: 0 0 0 3px color-mix(in srgb, var(--accent) 20%, transparent); }
.status { margin-left: auto; font-size: 12px; color: var(--muted); display: inline-flex; align-items: center; gap: 6px; white-space: nowrap; }
.status::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--muted); }
.status[data-state="live"]::before { background: #2e9d5b; }
.status[data-state="reconnecting"]::before { background: #d99a1e; }
.button {
  padding: 6px 12px; border-radius: 8px; border: 1px solid var(--line); background: var(--panel); cursor: pointer;
}
.button:hover { border-color: var(--muted); }
.button.danger { color: var(--danger); }
.button.danger:hover { border-color: var(--danger); }

.panes { flex: 1; display: grid; grid-template-columns: minmax(300px, 380px) 1fr; min-height: 0; }
.list-pane { border-right: 1px solid var(--line); background: var(--panel); display: flex; flex-direction: column; min-height: 0; }
.list-heading { padding: 8px 16px; font-size: 12px; color: var(--muted); border-bottom: 1px solid var(--line); }
.messages { list-style: none; margin: 0; padding: 0; overflow-y: auto; flex: 1; }
.messages:empty { display: none; }
.messages li { border-bottom: 1px solid var(--line); }
.messages a { display: block; padding: 10px 16px; color: inherit; text-decoration: none; }
.messages a:hover { background: color-mix(in srgb, var(--selected) 55%, transparent); }
.messages a[aria-current="true"] { background: var(--selected); box-shadow: inset 3px 0 0 var(--accent); }
.messages li.fresh a { animation: fresh 1.6s ease-out; }
@keyframes fresh { from { background: color-mix(in srgb, var(--accent) 22%, transparent); } }
.row { display: flex; align-items: baseline; gap: 8px; min-width: 0; }
.row + .row { margin-top: 2px; }
.row .from { font-weight: 600; flex: 1; }
.row .subject { flex: 1; }
.row .to, .row .preview { color: var(--muted); font-size: 12px; flex: 1; }
.ellipsis { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; }
.time, .clip { color: var(--muted); font-size: 12px; white-space: nowrap; }
.clip { display: inline-flex; align-items: center; gap: 3px; }
.clip::before {
  content: ""; width: 12px; height: 12px; background: currentColor;
  mask: url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' stroke='black' stroke-width='2.2' stroke-linecap='round' stroke-linejoin='round'%3E%3Cpath d='M21.4 11.1l-9.2 9.2a6 6 0 01-8.5-8.5l9.2-9.2a4 4 0 015.7 5.7l-9.2 9.2a2 2 0 01-2.8-2.8l8.5-8.5'/%3E%3C/svg%3E") center / contain no-repeat;
}

.badge {
  display: inline-block; padding: 1px 7px; border-radius: 999px; font-size: 11px; font-weight: 600;
  color: #fff; background: var(--smtp); letter-spacing: 0.02em; white-space: nowrap;
}
.badge.api-ses { background: var(--ses); }
.badge.api-gmail { background: var(--gmail); }
.badge.api-graph { background: var(--graph); }

.empty { padding: 28px 20px; color: var(--muted); overflow-y: auto; }
.empty[hidden] { display: none; }
.empty-title { color: var(--text); font-weight: 600; font-size: 15px; margin: 0 0 6px; }
.hints code { display: block; margin: 6px 0; padding: 6px 8px; background: var(--code); border-radius: 6px; font-size: 11px; word-break: break-all; color: var(--text); }

.detail-pane { overflow: auto; min-height: 0; display: flex; flex-direction: column; }
.placeholder { margin: auto; color: var(--muted); }
.message { display: flex; flex-direction: column; flex: 1; min-height: 0; }
.message-head { padding: 18px 24px 12px; background: var(--panel); border-bottom: 1px solid var(--line); }
.message-head h2 { margin: 0 0 8px; font-size: 19px; line-height: 1.3; word-break: break-word; }
.via { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; color: var(--muted); font-size: 12px; margin-bottom: 12px; }
.via .operation { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--text); }
.fields { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0; font-size: 13px; }
.fields dt { color: var(--muted); }
.fields dd { margin: 0; word-break: break-word; }
.fields .note { color: var(--muted); font-size: 12px; }

.tabs { display: flex; gap: 2px; padding: 0 16px; background: var(--panel); border-bottom: 1px solid var(--line); }
.tab {
  padding: 9px 12px; border: 0; border-bottom: 2px solid transparent; background: none; cursor: pointer; color: var(--muted);
}
.tab[aria-selected="true"] { color: var(--text); border-bottom-color: var(--accent); font-weight: 600; }
.tab:disabled { opacity: 0.4; cursor: default; }
.panel { flex: 1; min-height: 0; display: flex; flex-direction: column; padding: 16px 24px; overflow: auto; }
.panel-html { padding: 0; overflow: hidden; }
.panel iframe { flex: 1; width: 100%; min-height: 420px; border: 0; background: #fff; }
.panel pre {
  margin: 0; white-space: pre-wrap; word-break: break-word; font: 12.5px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
.panel .note { color: var(--muted); margin: 0 0 10px; }
.headers { border-collapse: collapse; width: 100%; font-size: 12.5px; }
.headers th, .headers td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--line); }
.headers th { white-space: nowrap; color: var(--muted); font-weight: 500; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.headers td { word-break: break-word; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.attachments { list-style: none; margin: 0; padding: 0; display: grid; gap: 8px; }
.attachments li {
  display: flex; align-items: center; gap: 12px; padding: 10px 12px; border: 1px solid var(--line); border-radius: 8px; background: var(--panel);
}
.attachments .name { font-weight: 600; flex: 1; word-break: break-all; }
.attachments .kind { color: var(--muted); font-size: 12px; }
a { color: var(--accent); }
.toolbar { display: flex; gap: 12px; align-items: center; margin-bottom: 10px; color: var(--muted); font-size: 12px; }

@media (max-width: 760px) {
  .panes { grid-template-columns: 1fr; grid-template-rows: 40% 60%; }
  .list-pane { border-right: 0; border-bottom: 1px solid var(--line); }
  .brand span { display: none; }
}
`;
