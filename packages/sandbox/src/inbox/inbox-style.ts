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
  --warn: #9a5b00;
  --warn-bg: #fff4df;
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
    --warn: #f0b35a;
    --warn-bg: #3a2e1a;
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
.bar .button { white-space: nowrap; }
.brand span { color: var(--muted); font-weight: 500; }
.search {
  flex: 1; min-width: 0; max-width: 520px; padding: 7px 11px; border: 1px solid var(--line); border-radius: 8px;
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
.button.danger.solid { background: var(--danger); color: #fff; border-color: var(--danger); }
.button:disabled { opacity: 0.5; cursor: default; }
.confirm { border: 1px solid var(--line); border-radius: 12px; padding: 20px 22px; background: var(--panel); color: var(--text); max-width: 420px; }
.confirm::backdrop { background: rgb(0 0 0 / 35%); }
.confirm h2 { margin: 0 0 8px; font-size: 16px; }
.confirm p { margin: 0 0 16px; color: var(--muted); }
.confirm-buttons { display: flex; justify-content: flex-end; gap: 8px; }

.panes { flex: 1; display: grid; grid-template-columns: minmax(300px, 380px) 1fr; min-height: 0; }
.list-pane { border-right: 1px solid var(--line); background: var(--panel); display: flex; flex-direction: column; min-height: 0; }
.list-heading { padding: 8px 16px; font-size: 12px; color: var(--muted); border-bottom: 1px solid var(--line); display: flex; flex-direction: column; gap: 2px; }
.evicted { color: var(--warn); }
.evicted[hidden] { display: none; }
.scroller { flex: 1; overflow-y: auto; min-height: 0; contain: strict; }
.scroller[hidden] { display: none; }
/* A virtual list: each row is placed at top = index x 76px, and only the ones in view exist. */
.messages { list-style: none; margin: 0; padding: 0; position: relative; }
.messages li { position: absolute; left: 0; right: 0; top: 0; height: 76px; border-bottom: 1px solid var(--line); overflow: hidden; contain: strict; }
.messages a { display: block; height: 100%; padding: 10px 16px 10px 12px; color: inherit; text-decoration: none; }
.dot { width: 7px; height: 7px; border-radius: 50%; flex: none; align-self: center; background: transparent; }
.unread .dot { background: var(--accent); }
.messages .read .from { font-weight: 400; }
.messages .unread .subject { font-weight: 600; }
.row .subject, .row .to { margin-left: 15px; }
.row .badge { margin-left: 15px; }
.row .badge + .to { margin-left: 0; }
.warn-mark { color: var(--warn); font-weight: 700; font-size: 12px; }
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
.message-head h2 { margin: 0 0 8px; font-size: 19px; line-height: 1.3; word-break: break-word; flex: 1; }
.title-row { display: flex; align-items: flex-start; gap: 12px; }
.actions { display: flex; gap: 8px; flex: none; }
.actions .button { font-size: 12px; padding: 4px 10px; }
.warning { margin: 0 0 12px; padding: 8px 12px; border-radius: 8px; background: var(--warn-bg); color: var(--warn); font-size: 13px; }
.via .api-name { font-weight: 600; color: var(--text); }
.via { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; color: var(--muted); font-size: 12px; margin-bottom: 12px; }
.via .operation { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--text); }
.fields { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0; font-size: 13px; }
.fields dt { color: var(--muted); }
.fields dd { margin: 0; word-break: break-word; }
.fields .note { color: var(--muted); font-size: 12px; }
.event-badges { display: inline-flex; gap: 3px; flex: none; margin-left: auto; }
.event-badge { font-size: 10.5px; line-height: 1.5; padding: 0 5px; border-radius: 4px; background: var(--code); color: var(--muted); }
.event-badge.event-bounced, .event-badge.event-complained, .event-badge.event-rejected, .event-badge.event-failed { color: var(--danger); }
.event-badge.event-deferred { color: var(--warn); }
.events { margin-top: 12px; }
.events[hidden] { display: none; }
.events-list { list-style: none; margin: 0; padding: 0; display: grid; gap: 4px; font-size: 12.5px; max-height: 180px; overflow: auto; }
.event { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: baseline; }
.event-type { font-weight: 600; padding: 0 6px; border-radius: 4px; background: var(--code); }
.event-bounced .event-type, .event-complained .event-type, .event-rejected .event-type, .event-failed .event-type { color: var(--danger); }
.event-deferred .event-type { color: var(--warn); }
.event-recipient { word-break: break-all; }
.event-channel, .event-time { color: var(--muted); }
.event-detail { flex-basis: 100%; color: var(--muted); word-break: break-word; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }

.tabs { display: flex; gap: 2px; padding: 0 16px; background: var(--panel); border-bottom: 1px solid var(--line); }
.tab {
  padding: 9px 12px; border: 0; border-bottom: 2px solid transparent; background: none; cursor: pointer; color: var(--muted);
}
.tab[aria-selected="true"] { color: var(--text); border-bottom-color: var(--accent); font-weight: 600; }
.tab:disabled { opacity: 0.4; cursor: default; }
.panel { flex: 1; min-height: 0; display: flex; flex-direction: column; padding: 16px 24px; overflow: auto; }
.panel-html { padding: 0; overflow: hidden; }
.panel iframe { flex: 1; width: 100%; min-height: 420px; border: 0; background: #fff; display: block; }
.html-toolbar { margin: 0; padding: 6px 16px; border-bottom: 1px solid var(--line); background: var(--panel); }
.widths { display: inline-flex; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
.width { border: 0; background: none; padding: 4px 12px; cursor: pointer; color: var(--muted); font-size: 12px; }
.width + .width { border-left: 1px solid var(--line); }
.width[aria-pressed="true"] { background: var(--selected); color: var(--text); font-weight: 600; }
.stage { flex: 1; display: flex; flex-direction: column; min-height: 0; overflow: auto; }
.stage.width-tablet, .stage.width-phone { background: var(--bg); padding: 16px; align-items: center; }
.stage.width-tablet iframe { width: 768px; max-width: none; flex: 1; border: 1px solid var(--line); border-radius: 12px; }
.stage.width-phone iframe { width: 375px; max-width: none; flex: none; height: 667px; min-height: 0; border: 10px solid #20242c; border-radius: 26px; }
.tab-note { color: var(--muted); font-weight: 400; font-size: 12px; }
.section { font-size: 13px; margin: 0 0 8px; color: var(--muted); font-weight: 600; }
.attachments + .section { margin-top: 18px; }
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
