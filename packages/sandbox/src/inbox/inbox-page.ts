/** The inbox page: a shell that the script fills. No message content is ever part of this HTML. */
export const inboxPage: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mailport dev inbox</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/sandbox/inbox/inbox.css">
<script type="module" src="/sandbox/inbox/inbox.js"></script>
</head>
<body>
<header class="bar">
  <h1 class="brand">mailport <span>dev inbox</span></h1>
  <input id="search" class="search" type="search" placeholder="Search by recipient or subject" aria-label="Search by recipient or subject" autocomplete="off" spellcheck="false">
  <span id="status" class="status" data-state="connecting" role="status">connecting</span>
  <button id="clear" class="button danger" type="button" title="Delete every message from the sandbox">Clear all</button>
</header>
<dialog id="confirm-clear" class="confirm" aria-labelledby="confirm-clear-title">
  <form method="dialog">
    <h2 id="confirm-clear-title">Clear all messages?</h2>
    <p id="confirm-clear-text"></p>
    <div class="confirm-buttons">
      <button class="button" value="cancel" autofocus>Cancel</button>
      <button id="confirm-clear-delete" class="button danger solid" value="delete">Delete all</button>
    </div>
  </form>
</dialog>
<main class="panes">
  <section class="list-pane" aria-label="Messages">
    <div class="list-heading"><span id="count">No messages</span><span id="evicted" class="evicted" role="status" hidden></span></div>
    <div id="scroller" class="scroller"><ul id="messages" class="messages" aria-label="Messages, newest first"></ul></div>
    <div id="empty" class="empty">
      <p class="empty-title">No messages yet</p>
      <p>Everything sent to this sandbox, through SMTP, Amazon SES, the Gmail API or Microsoft Graph, shows up here as it arrives.</p>
      <div id="hints" class="hints"></div>
    </div>
  </section>
  <section id="detail" class="detail-pane" aria-label="Message">
    <p class="placeholder">Select a message to read it.</p>
  </section>
</main>
</body>
</html>
`;
