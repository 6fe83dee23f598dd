/**
 * The inbox page's script. It runs in the browser and is served as its own source text
 * (`inboxClient.toString()`), so it must not refer to anything outside its body; it is written in
 * TypeScript so that the compiler checks it against the DOM.
 *
 * Every piece of message content goes into the page as text (`textContent`), never as markup; the
 * HTML body is shown only in a sandboxed iframe whose document the sandbox serves with a
 * Content-Security-Policy of its own.
 *
 * The list is virtual: only the rows in view (and a few around them) exist in the DOM, so ten
 * thousand messages cost what forty do. Live updates are queued and applied once per animation
 * frame, however many arrive in it.
 */
export function inboxClient(): void {
  type Api = 'smtp' | 'ses' | 'gmail' | 'graph';
  interface Summary {
    id: string;
    api: Api;
    operation: string;
    receivedAt: string;
    size: number;
    subject: string;
    from: string;
    to: string[];
    cc: string[];
    bcc: string[];
    envelope: { from: string; to: string[] };
    date: string | undefined;
    messageId: string | undefined;
    attachmentCount: number;
    inlineCount: number;
    hasHtml: boolean;
    preview: string;
    read: boolean;
    warning: string | undefined;
    truncated: boolean;
  }
  interface Attachment {
    index: number;
    filename: string;
    contentType: string;
    size: number;
    contentId: string | undefined;
    inline: boolean;
    url: string;
  }
  interface Message extends Summary {
    replyTo: string[];
    text: string | undefined;
    htmlUrl: string | undefined;
    htmlSourceUrl: string | undefined;
    rawUrl: string;
    headers: { name: string; value: string }[];
    attachments: Attachment[];
    providerMessageId: string | undefined;
    metadata: Record<string, unknown>;
    parse: 'complete' | 'partial' | 'failed';
  }
  /** What the sandbox reported about a message after accepting it (`sandbox.events`). */
  interface MailEvent {
    id: string;
    at: string;
    storeId: string | undefined;
    messageId: string | undefined;
    type: string;
    recipient: string | undefined;
    channel: string;
    detail: string;
  }
  interface StoreState {
    total: number;
    bytes: number;
    evicted: number;
    limits: { maxMessages: number; maxBytes: number };
  }
  type Change =
    | { type: 'message'; summary: Summary }
    | { type: 'older'; summaries: Summary[] }
    | { type: 'remove'; ids: string[] }
    | { type: 'read'; ids: string[]; read: boolean }
    | { type: 'events'; ids: string[] };
  type Tab = 'html' | 'source' | 'text' | 'headers' | 'raw' | 'attachments';
  type Width = 'desktop' | 'tablet' | 'phone';
  type Child = Node | string | false | undefined;

  const apiNames: Record<Api, string> = { smtp: 'SMTP', ses: 'Amazon SES v2', gmail: 'Gmail API', graph: 'Microsoft Graph' };
  const rawDisplayLimit = 2 * 1024 * 1024;
  /** Every row has this height (CSS says the same), so the list can place rows without measuring them. */
  const rowHeight = 76;
  const overscan = 5;

  const element = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
  const scroller = element<HTMLDivElement>('scroller');
  const list = element<HTMLUListElement>('messages');
  const count = element<HTMLSpanElement>('count');
  const evictedNote = element<HTMLSpanElement>('evicted');
  const search = element<HTMLInputElement>('search');
  const clearButton = element<HTMLButtonElement>('clear');
  const confirmDialog = element<HTMLDialogElement>('confirm-clear');
  const confirmText = element<HTMLParagraphElement>('confirm-clear-text');
  const status = element<HTMLSpanElement>('status');
  const detail = element<HTMLElement>('detail');
  const empty = element<HTMLDivElement>('empty');
  const hints = element<HTMLDivElement>('hints');

  /** Newest first. */
  let messages: Summary[] = [];
  let byId = new Map<string, Summary>();
  /** `messages` filtered by the search; the same array when there is no search. */
  let visible: Summary[] = [];
  let state: StoreState | undefined;
  let query = '';
  let tab: Tab = 'html';
  let width: Width = 'desktop';
  let shownId: string | undefined;
  let shown: Message | undefined;
  /** The shown message's events section: its list, and the ids already in it. */
  let eventView: { section: HTMLElement; list: HTMLElement; ids: Set<string> } | undefined;
  /** The event types recorded about each message (by store id), in order, each once: the list shows them as badges. */
  const eventTypes = new Map<string, string[]>();
  const fresh = new Set<string>();
  const details = new Map<string, Promise<Message>>();
  /** The rows in the DOM, by id, with the summary each was drawn from. */
  const rows = new Map<string, { item: HTMLLIElement; summary: Summary; selected: boolean }>();
  const haystacks = new WeakMap<Summary, string>();
  let queue: Change[] = [];
  /** Pieces of the snapshot not parsed yet (as they came), and whether more are coming. */
  let olderPieces: string[] = [];
  let loadingOlder = false;
  let frameRequested = false;
  let lastFlush = 0;
  const flushSpacingMs = 100;

  // Times and counts are formatted by hand: the first Intl.DateTimeFormat costs some 25 ms of
  // locale loading, and the list formats a time for every row it draws. The message view's full
  // date uses Intl, made once, warmed up in a task of its own after the list is drawn.
  let fullFormatter: Intl.DateTimeFormat | undefined;
  const fullFormat = (): Intl.DateTimeFormat =>
    (fullFormatter ??= new Intl.DateTimeFormat([], { dateStyle: 'medium', timeStyle: 'medium' }));
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (number: number): string => String(number).padStart(2, '0');
  const grouped = (number: number): string => String(number).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

  /** Builds an element; strings become text nodes, so nothing here is ever parsed as HTML. */
  function make(tag: string, attributes: Record<string, string | boolean | undefined> = {}, ...children: Child[]): HTMLElement {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === undefined || value === false) continue;
      node.setAttribute(name, value === true ? '' : value);
    }
    for (const child of children) {
      if (child === undefined || child === false) continue;
      node.append(child);
    }
    return node;
  }

  /** The id in `#m-000001`; a fragment that is not valid percent-encoding is taken as it is, never thrown on. */
  function selectedId(): string | undefined {
    const fragment = location.hash.slice(1);
    try {
      return decodeURIComponent(fragment) || undefined;
    } catch {
      return fragment || undefined;
    }
  }

  function formatSize(bytes: number): string {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
    if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
    return `${(bytes / 1024 / 1024 / 1024).toFixed(1)} GB`;
  }

  const today = new Date().toDateString();
  function formatTime(iso: string | undefined): string {
    if (iso === undefined) return '';
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return '';
    const time = `${two(date.getHours())}:${two(date.getMinutes())}`;
    return date.toDateString() === today
      ? `${time}:${two(date.getSeconds())}`
      : `${months[date.getMonth()]} ${date.getDate()}${date.getFullYear() === new Date().getFullYear() ? '' : ` ${date.getFullYear()}`}, ${time}`;
  }

  function plural(number: number, word: string): string {
    return `${grouped(number)} ${word}${number === 1 ? '' : 's'}`;
  }

  /** `SMTP DATA` under the SMTP label is just `DATA`: the protocol is named once. */
  function operationLabel(message: Summary): string {
    const prefix = `${apiNames[message.api]} `;
    return message.operation.startsWith(prefix) ? message.operation.slice(prefix.length) : message.operation;
  }

  /** Whether every word of the search is in the message's subject or recipients. */
  function matches(message: Summary, words: string[]): boolean {
    let haystack = haystacks.get(message);
    if (haystack === undefined) {
      haystack = [message.subject, ...message.to, ...message.cc, ...message.bcc, ...message.envelope.to].join('\n').toLowerCase();
      haystacks.set(message, haystack);
    }
    const text = haystack;
    return words.every((word) => text.includes(word));
  }

  const searchWords = (): string[] => query.toLowerCase().split(/\s+/);

  /** Makes the search text of the messages that have none yet, a thousand per idle moment, so that a first search over ten thousand is quick. */
  let indexing = false;
  function indexLater(): void {
    if (indexing) return;
    indexing = true;
    setTimeout(() => {
      indexing = false;
      let made = 0;
      for (const message of messages) {
        if (haystacks.has(message)) continue;
        matches(message, []);
        if (++made === 1000) {
          indexLater();
          return;
        }
      }
    }, 50);
  }

  function badge(api: Api): HTMLElement {
    return make('span', { class: `badge api-${api}`, title: apiNames[api] }, api);
  }

  /** A CSS class from an event type: the sandbox's word, used only when it is a plain word. */
  function eventClass(type: unknown): string {
    return typeof type === 'string' && /^[a-z-]{1,32}$/.test(type) ? type : 'unknown';
  }

  /** The last three event types of a message, as small badges; all of them in the title. */
  function eventBadges(id: string): HTMLElement | false {
    const types = eventTypes.get(id);
    if (types === undefined || types.length === 0) return false;
    return make(
      'span',
      { class: 'event-badges', title: `Events: ${types.join(', ')}` },
      ...types.slice(-3).map((type) => make('span', { class: `event-badge event-${eventClass(type)}` }, type)),
    );
  }

  function attachmentClip(message: Summary): HTMLElement | false {
    if (message.attachmentCount === 0) return false;
    const more = message.truncated ? '+' : '';
    const title = `${plural(message.attachmentCount, 'attachment')}${more && ' or more'}${message.inlineCount > 0 ? ` (and ${message.inlineCount} inline in the HTML)` : ''}`;
    return make('span', { class: 'clip', title, 'data-count': String(message.attachmentCount) }, `${message.attachmentCount}${more}`);
  }

  function drawRow(message: Summary, selected: boolean): HTMLLIElement {
    const recipients = [...message.to, ...message.cc];
    const classes = [message.read ? 'read' : 'unread', fresh.has(message.id) ? 'fresh' : ''].filter(Boolean).join(' ');
    return make(
      'li',
      { 'data-id': message.id, 'data-api': message.api, class: classes },
      make(
        'a',
        { href: `#${encodeURIComponent(message.id)}`, 'aria-current': selected ? 'true' : undefined },
        make(
          'div',
          { class: 'row' },
          make('span', { class: 'dot', title: message.read ? undefined : 'Unread' }),
          make('span', { class: 'from ellipsis' }, message.from || message.envelope.from || '(no sender)'),
          make('time', { class: 'time', datetime: message.receivedAt }, formatTime(message.receivedAt)),
        ),
        make(
          'div',
          { class: 'row' },
          make('span', { class: 'subject ellipsis' }, message.subject || '(no subject)'),
          message.warning !== undefined && make('span', { class: 'warn-mark', title: message.warning }, '!'),
          attachmentClip(message),
        ),
        make(
          'div',
          { class: 'row' },
          badge(message.api),
          make('span', { class: 'to ellipsis' }, `to ${recipients.join(', ') || message.envelope.to.join(', ')}`),
          eventBadges(message.id),
        ),
      ),
    ) as HTMLLIElement;
  }

  /** Puts the rows in view into the DOM, reusing the ones already there. */
  function renderRows(): void {
    // Read the geometry before writing anything, so the browser lays out once per frame.
    const top = scroller.scrollTop;
    const height = scroller.clientHeight || 800;
    const listHeight = `${visible.length * rowHeight}px`;
    if (list.style.height !== listHeight) list.style.height = listHeight;
    const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
    const last = Math.min(visible.length, Math.ceil((top + height) / rowHeight) + overscan);
    const selected = selectedId();
    const wanted = new Set<string>();
    const ordered: HTMLLIElement[] = [];
    const size = String(visible.length);
    for (let index = first; index < last; index++) {
      const message = visible[index] as Summary;
      wanted.add(message.id);
      const isSelected = message.id === selected;
      let row = rows.get(message.id);
      if (row === undefined || row.summary !== message || row.selected !== isSelected) {
        const item = drawRow(message, isSelected);
        if (row !== undefined) row.item.replaceWith(item);
        row = { item, summary: message, selected: isSelected };
        rows.set(message.id, row);
      }
      const position = String(index + 1);
      if (row.item.getAttribute('aria-posinset') !== position) {
        row.item.setAttribute('aria-posinset', position);
        row.item.style.top = `${index * rowHeight}px`;
      }
      if (row.item.getAttribute('aria-setsize') !== size) row.item.setAttribute('aria-setsize', size);
      ordered.push(row.item);
    }
    for (const [id, row] of rows) {
      if (wanted.has(id)) continue;
      row.item.remove();
      rows.delete(id);
    }
    // The DOM keeps the rows in list order (screen readers and keyboard focus follow it); only misplaced rows move.
    let cursor = list.firstChild;
    for (const item of ordered) {
      if (item === cursor) cursor = cursor.nextSibling;
      else list.insertBefore(item, cursor);
    }
    fresh.clear();
  }

  function renderHeading(): void {
    const total = messages.length;
    count.textContent =
      total === 0
        ? 'No messages'
        : query === ''
          ? `${plural(total, 'message')}, newest first${loadingOlder ? ' (loading older…)' : ''}`
          : `${grouped(visible.length)} of ${plural(total, 'message')} match`;
    const unread = messages.reduce((sum, message) => sum + (message.read ? 0 : 1), 0);
    count.title = `${grouped(unread)} unread`;
    if (state !== undefined && state.evicted > 0) {
      evictedNote.hidden = false;
      evictedNote.textContent =
        `${plural(state.evicted, 'older message')} ${state.evicted === 1 ? 'was' : 'were'} evicted ` +
        `(cap: ${grouped(state.limits.maxMessages)} messages / ${formatSize(state.limits.maxBytes)})`;
    } else {
      evictedNote.hidden = true;
      evictedNote.textContent = '';
    }
    empty.hidden = total > 0;
    document.title = total === 0 ? 'mailport dev inbox' : `(${grouped(total)}) mailport dev inbox`;
  }

  function refilter(): void {
    const words = searchWords();
    visible = query === '' ? messages : messages.filter((message) => matches(message, words));
    scroller.hidden = visible.length === 0;
  }

  function renderList(): void {
    refilter();
    renderHeading();
    renderRows();
    indexLater();
  }

  /** Applies the changes that came in since the last frame, in order, in one pass over the list. */
  function flush(): void {
    frameRequested = false;
    lastFlush = performance.now();
    const changes = queue;
    queue = [];
    if (changes.length === 0) return;
    const added: Summary[] = [];
    const older: Summary[] = [];
    let removed = false;
    let updated = false;
    for (const change of changes) {
      if (change.type === 'message') {
        if (byId.has(change.summary.id)) continue;
        byId.set(change.summary.id, change.summary);
        added.push(change.summary);
      } else if (change.type === 'older') {
        for (const summary of change.summaries) {
          if (byId.has(summary.id)) continue;
          byId.set(summary.id, summary);
          older.push(summary);
        }
      } else if (change.type === 'events') {
        // A new summary object: the row is drawn again, with its badges.
        for (const id of change.ids) {
          const known = byId.get(id);
          if (known === undefined) continue;
          byId.set(id, { ...known });
          updated = true;
        }
      } else if (change.type === 'remove') {
        for (const id of change.ids) {
          if (byId.delete(id)) removed = true;
          details.delete(id);
        }
      } else {
        for (const id of change.ids) {
          const known = byId.get(id);
          if (known === undefined || known.read === change.read) continue;
          byId.set(id, { ...known, read: change.read });
          updated = true;
        }
      }
    }
    // A few new rows flash as they arrive; a burst does not (repainting it would only cost the reader).
    if (added.length <= 10) for (const message of added) fresh.add(message.id);
    const before = messages.length;
    // Ids grow with arrival, so the new ones go on top, newest first.
    const newest = added.filter((message) => byId.get(message.id) === message).reverse();
    const kept = removed || updated ? messages.flatMap((message) => byId.get(message.id) ?? []) : messages;
    messages = newest.length === 0 ? kept : newest.concat(kept);
    // Older pieces of the snapshot go at the bottom.
    const bottom = older.filter((message) => byId.get(message.id) === message);
    if (bottom.length > 0) messages = messages.concat(bottom);
    const words = searchWords();
    const shifted = query === '' ? newest.length : newest.filter((message) => matches(message, words)).length;
    // Keep what the reader is looking at in place when rows arrive above it.
    if (shifted > 0 && scroller.scrollTop > 0) scroller.scrollTop += shifted * rowHeight;
    renderList();
    if (before === 0 || messages.length === 0) renderDetail();
    const id = selectedId();
    if (id !== undefined && shownId === id && !byId.has(id)) showGone();
    if (shown !== undefined && byId.get(shown.id)?.read !== shown.read) {
      const current = byId.get(shown.id);
      if (current !== undefined) {
        shown = { ...shown, read: current.read };
        updateReadButton();
      }
    }
  }

  /**
   * Queues a change for the next flush: at the next animation frame, but no sooner than
   * `flushSpacingMs` after the previous one, so a burst is drawn a few times a second rather than
   * at every frame (each drawing repaints the list, whatever the number of new rows).
   */
  function enqueue(change: Change): void {
    queue.push(change);
    if (frameRequested) return;
    frameRequested = true;
    const wait = lastFlush + flushSpacingMs - performance.now();
    if (wait <= 0) requestAnimationFrame(flush);
    else setTimeout(() => requestAnimationFrame(flush), wait);
  }

  function loadMessage(id: string): Promise<Message> {
    let loaded = details.get(id);
    if (loaded === undefined) {
      loaded = fetch(`/sandbox/messages/${encodeURIComponent(id)}/parsed`).then(async (response) => {
        if (!response.ok)
          throw new Error(response.status === 404 ? 'This message is no longer in the sandbox.' : `HTTP ${response.status}`);
        return (await response.json()) as Message;
      });
      loaded.catch(() => details.delete(id));
      details.set(id, loaded);
      // The page keeps the last few opened messages, not every one ever opened.
      for (const oldest of details.keys()) {
        if (details.size <= 16) break;
        details.delete(oldest);
      }
    }
    return loaded;
  }

  function field(label: string | Node, value: string | Node | undefined, note?: string): Node[] {
    if (value === undefined || value === '') return [];
    return [
      make('dt', {}, label),
      make('dd', {}, value, note !== undefined && ' ', note !== undefined && make('span', { class: 'note' }, note)),
    ];
  }

  function showGone(): void {
    shown = undefined;
    detail.replaceChildren(make('p', { class: 'placeholder' }, 'This message is no longer in the sandbox.'));
  }

  function renderDetail(): void {
    const id = selectedId();
    if (id === undefined) {
      shownId = undefined;
      shown = undefined;
      detail.replaceChildren(
        make('p', { class: 'placeholder' }, messages.length === 0 ? 'No messages yet.' : 'Select a message to read it.'),
      );
      return;
    }
    if (id === shownId) return;
    shownId = id;
    shown = undefined;
    detail.replaceChildren(make('p', { class: 'placeholder' }, 'Loading…'));
    loadMessage(id).then(
      (message) => {
        if (selectedId() !== id) return;
        const current = byId.get(id);
        showMessage(current === undefined ? message : { ...message, read: current.read });
        if (current !== undefined && !current.read) setRead(id, true);
      },
      (error: Error) => {
        if (selectedId() === id) detail.replaceChildren(make('p', { class: 'placeholder' }, error.message));
      },
    );
  }

  function setRead(id: string, read: boolean): void {
    fetch(`/sandbox/messages/${encodeURIComponent(id)}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ read }),
    }).catch(() => {});
  }

  function updateReadButton(): void {
    const button = detail.querySelector<HTMLButtonElement>('#toggle-read');
    if (button === null || shown === undefined) return;
    button.textContent = shown.read ? 'Mark unread' : 'Mark read';
    button.dataset.read = String(shown.read);
  }

  function deleteShown(): void {
    if (shown === undefined) return;
    const id = shown.id;
    const at = visible.findIndex((message) => message.id === id);
    const next = visible[at + 1] ?? visible[at - 1];
    fetch(`/sandbox/messages/${encodeURIComponent(id)}`, { method: 'DELETE' })
      .then((response) => {
        if (!response.ok && response.status !== 404) throw new Error(`HTTP ${response.status}`);
        enqueue({ type: 'remove', ids: [id] });
        if (next !== undefined && next.id !== id) location.hash = encodeURIComponent(next.id);
        else history.replaceState(null, '', location.pathname);
        renderDetail();
      })
      .catch((error: Error) => {
        detail
          .querySelector('.message-head')
          ?.append(make('p', { class: 'warning', role: 'alert' }, `Could not delete it: ${error.message}`));
      });
  }

  /** Whether an event is about a message: by store id, or by Message-ID when it names no store id. */
  function isAbout(event: MailEvent, message: Message): boolean {
    return (
      event.storeId === message.id ||
      (event.storeId === undefined && message.messageId !== undefined && event.messageId === message.messageId)
    );
  }

  /** Adds events to the shown message's section (once each; at most 200 shown). */
  function addEvents(events: MailEvent[]): void {
    const view = eventView;
    if (view === undefined) return;
    for (const event of events) {
      if (typeof event !== 'object' || event === null || typeof event.id !== 'string' || view.ids.has(event.id)) continue;
      if (view.ids.size >= 200) break;
      view.ids.add(event.id);
      // The type is the sandbox's word, but it names a CSS class only when it is a plain word.
      const type = eventClass(event.type);
      view.list.append(
        make(
          'li',
          { class: `event event-${type}`, 'data-event-id': event.id },
          make('span', { class: 'event-type' }, String(event.type)),
          make('span', { class: 'event-recipient' }, event.recipient ?? '(no recipient)'),
          make('span', { class: 'event-channel' }, String(event.channel)),
          make('time', { class: 'event-time', datetime: String(event.at) }, formatTime(event.at)),
          make('span', { class: 'event-detail' }, String(event.detail)),
        ),
      );
    }
    view.section.hidden = view.ids.size === 0;
  }

  function loadEvents(message: Message): void {
    fetch(`/sandbox/messages/${encodeURIComponent(message.id)}/events`)
      .then((response) => (response.ok ? (response.json() as Promise<{ events: MailEvent[] }>) : { events: [] }))
      .then((body) => {
        if (shown?.id === message.id && Array.isArray(body.events)) addEvents(body.events);
      })
      .catch(() => {});
  }

  function showMessage(message: Message): void {
    shown = message;
    const metadata = Object.entries(message.metadata).filter(([, value]) => value !== undefined && value !== null && value !== '');
    const downloads = message.attachments.filter((attachment) => !attachment.inline).length;
    const inline = message.attachments.length - downloads;
    const tabs: [Tab, Child[], boolean][] = [
      ['html', ['HTML'], message.htmlUrl !== undefined],
      ['source', ['HTML source'], message.htmlSourceUrl !== undefined],
      ['text', ['Text'], message.text !== undefined],
      ['headers', ['Headers'], message.headers.length > 0],
      ['raw', ['Raw'], true],
      [
        'attachments',
        [
          'Attachments ',
          make('span', { class: 'tab-count', 'data-count': String(downloads) }, `(${downloads}${message.truncated ? '+' : ''})`),
          inline > 0 && make('span', { class: 'tab-note' }, ` +${inline} inline`),
        ],
        message.attachments.length > 0,
      ],
    ];
    // Keep the tab the reader chose, unless this message has nothing to show there.
    if (!tabs.some(([name, , enabled]) => name === tab && enabled)) {
      tab = message.htmlUrl !== undefined ? 'html' : message.text !== undefined ? 'text' : message.headers.length > 0 ? 'headers' : 'raw';
    }
    const panel = make('div', { class: 'panel', role: 'tabpanel', id: 'panel' });
    const tabBar = make(
      'div',
      { class: 'tabs', role: 'tablist' },
      ...tabs.map(([name, label, enabled]) => {
        const button = make(
          'button',
          { class: 'tab', type: 'button', role: 'tab', 'data-tab': name, 'aria-selected': String(name === tab), disabled: !enabled },
          ...label,
        );
        button.addEventListener('click', () => {
          tab = name;
          for (const other of tabBar.querySelectorAll('.tab')) other.setAttribute('aria-selected', String(other === button));
          showPanel(message, panel);
        });
        return button;
      }),
    );
    const toggle = make('button', { id: 'toggle-read', class: 'button', type: 'button' }, '');
    toggle.addEventListener('click', () => {
      if (shown === undefined) return;
      shown = { ...shown, read: !shown.read };
      updateReadButton();
      setRead(shown.id, shown.read);
    });
    const remove = make('button', { id: 'delete-message', class: 'button danger', type: 'button', title: 'Delete this message' }, 'Delete');
    const eventList = make('ol', { class: 'events-list' });
    const events = make(
      'section',
      { class: 'events', 'aria-label': 'Events', hidden: true },
      make('h3', { class: 'section' }, 'Events'),
      eventList,
    );
    eventView = { section: events, list: eventList, ids: new Set() };
    remove.addEventListener('click', deleteShown);
    detail.replaceChildren(
      make(
        'article',
        { class: 'message', 'data-id': message.id, 'data-parse': message.parse },
        make(
          'div',
          { class: 'message-head' },
          make(
            'div',
            { class: 'title-row' },
            make('h2', { class: 'subject' }, message.subject || '(no subject)'),
            make('div', { class: 'actions' }, toggle, remove),
          ),
          make(
            'div',
            { class: 'via' },
            make('span', { class: `api-name api-${message.api}` }, apiNames[message.api]),
            make('span', { class: 'operation', title: message.operation }, operationLabel(message)),
            make('span', {}, `received ${formatTime(message.receivedAt)}`),
            make('span', {}, formatSize(message.size)),
          ),
          message.warning !== undefined && make('p', { class: 'warning', role: 'alert' }, message.warning),
          make(
            'dl',
            { class: 'fields' },
            ...field('From', message.from),
            ...field('To', message.to.join(', ')),
            ...field('Cc', message.cc.join(', ')),
            ...field('Bcc', message.bcc.join(', '), '(envelope only: not in the headers)'),
            ...field('Reply-To', message.replyTo.join(', ')),
            ...field('Date', message.date === undefined ? undefined : fullFormat().format(new Date(message.date))),
            ...field('Envelope', `from ${message.envelope.from || '<>'} to ${message.envelope.to.join(', ')}`),
            ...field('Message-ID', message.messageId),
            ...field('Provider id', message.providerMessageId),
            ...field(
              'Details',
              metadata.map(([name, value]) => `${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}`).join(' · '),
            ),
          ),
          events,
        ),
        tabBar,
        panel,
      ),
    );
    loadEvents(message);
    updateReadButton();
    showPanel(message, panel);
    // The list row follows what the full parse counted.
    const listed = byId.get(message.id);
    if (listed !== undefined && message.parse === 'complete' && listed.attachmentCount !== downloads) {
      byId.set(message.id, { ...listed, attachmentCount: downloads, inlineCount: inline });
      messages = messages.map((known) => byId.get(known.id) ?? known);
      renderList();
    }
  }

  function loadText(url: string, pre: HTMLElement, what: string): void {
    fetch(url)
      .then((response) => (response.ok ? response.text() : Promise.reject(new Error(`HTTP ${response.status}`))))
      .then(
        (text) => {
          pre.textContent =
            text.length > rawDisplayLimit ? `${text.slice(0, rawDisplayLimit)}\n\n… (cut here; download the .eml for the rest)` : text;
        },
        (error: Error) => {
          pre.textContent = `Could not load the ${what}: ${error.message}`;
        },
      );
  }

  function attachmentList(attachments: Attachment[]): HTMLElement {
    return make(
      'ul',
      { class: 'attachments' },
      ...attachments.map((attachment) =>
        make(
          'li',
          { 'data-index': String(attachment.index), 'data-inline': String(attachment.inline) },
          make('span', { class: 'name' }, attachment.filename),
          make(
            'span',
            { class: 'kind' },
            `${attachment.contentType}, ${formatSize(attachment.size)}${attachment.inline ? `, inline (cid:${attachment.contentId})` : ''}`,
          ),
          make('a', { class: 'download', href: attachment.url, download: attachment.filename }, 'Download'),
        ),
      ),
    );
  }

  function showPanel(message: Message, panel: HTMLElement): void {
    panel.className = `panel panel-${tab}`;
    panel.dataset.tab = tab;
    switch (tab) {
      case 'html': {
        if (message.htmlUrl === undefined) {
          panel.replaceChildren(make('p', { class: 'note' }, 'This message has no HTML body.'));
          return;
        }
        // No allow-scripts, no allow-same-origin: the message's HTML gets an opaque origin and cannot run code.
        const frame = make('iframe', {
          src: message.htmlUrl,
          sandbox: 'allow-popups allow-popups-to-escape-sandbox',
          referrerpolicy: 'no-referrer',
          title: 'HTML body',
        });
        const stage = make('div', { class: `stage width-${width}`, 'data-width': width }, frame);
        const widths: [Width, string, string][] = [
          ['desktop', 'Desktop', 'Full width'],
          ['tablet', 'Tablet', '768 px wide'],
          ['phone', 'Phone', '375 px wide'],
        ];
        const switcher = make(
          'div',
          { class: 'widths', role: 'group', 'aria-label': 'Preview width' },
          ...widths.map(([name, label, title]) => {
            const button = make(
              'button',
              { type: 'button', class: 'width', 'data-width': name, title, 'aria-pressed': String(name === width) },
              label,
            );
            button.addEventListener('click', () => {
              width = name;
              stage.className = `stage width-${name}`;
              stage.dataset.width = name;
              for (const other of switcher.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === button));
            });
            return button;
          }),
        );
        panel.replaceChildren(make('div', { class: 'toolbar html-toolbar' }, switcher), stage);
        return;
      }
      case 'source': {
        const pre = make('pre', { class: 'source' }, 'Loading…');
        panel.replaceChildren(make('div', { class: 'toolbar' }, make('span', {}, 'The HTML body as the message carries it')), pre);
        if (message.htmlSourceUrl !== undefined) loadText(message.htmlSourceUrl, pre, 'HTML source');
        return;
      }
      case 'text':
        panel.replaceChildren(
          message.text === undefined
            ? make('p', { class: 'note' }, 'This message has no text body.')
            : make('pre', { class: 'text' }, message.text),
        );
        return;
      case 'headers':
        panel.replaceChildren(
          make(
            'table',
            { class: 'headers' },
            make(
              'tbody',
              {},
              ...message.headers.map((header) => make('tr', {}, make('th', { scope: 'row' }, header.name), make('td', {}, header.value))),
            ),
          ),
        );
        return;
      case 'raw': {
        const pre = make('pre', { class: 'raw' }, 'Loading…');
        panel.replaceChildren(
          make(
            'div',
            { class: 'toolbar' },
            make('span', {}, `${formatSize(message.size)}, as the recipients receive it (no Bcc header)`),
            make('a', { href: message.rawUrl, download: `${message.id}.eml` }, 'Download .eml'),
          ),
          pre,
        );
        loadText(message.rawUrl, pre, 'raw message');
        return;
      }
      case 'attachments': {
        const downloads = message.attachments.filter((attachment) => !attachment.inline);
        const inline = message.attachments.filter((attachment) => attachment.inline);
        const sections: Node[] = [
          make('h3', { class: 'section' }, `Attachments (${downloads.length}${message.truncated ? '+' : ''})`),
          downloads.length === 0 ? make('p', { class: 'note' }, 'None: every part is shown inside the HTML.') : attachmentList(downloads),
        ];
        if (inline.length > 0)
          sections.push(make('h3', { class: 'section' }, `Inline in the HTML (${inline.length})`), attachmentList(inline));
        panel.replaceChildren(...sections);
        return;
      }
    }
  }

  function moveSelection(step: number): void {
    if (visible.length === 0) return;
    const current = visible.findIndex((message) => message.id === selectedId());
    const index = Math.min(visible.length - 1, Math.max(0, current === -1 ? 0 : current + step));
    const next = visible[index];
    if (next === undefined) return;
    location.hash = encodeURIComponent(next.id);
    const top = index * rowHeight;
    if (top < scroller.scrollTop) scroller.scrollTop = top;
    else if (top + rowHeight > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = top + rowHeight - scroller.clientHeight;
  }

  function showHints(): void {
    fetch('/sandbox/info')
      .then((response) => response.json() as Promise<{ host: string; smtpPort: number; urls?: Record<Api, string> }>)
      .then((info) => {
        hints.replaceChildren(
          make('p', {}, `SMTP on ${info.host}:${info.smtpPort}; or set MAILPORT_URL to one of:`),
          ...Object.values(info.urls ?? {}).map((url) => make('code', {}, url)),
        );
      })
      .catch(() => {});
  }

  function connect(): void {
    const events = new EventSource('/sandbox/events');
    const setStatus = (name: string, label: string): void => {
      status.dataset.state = name;
      status.textContent = label;
    };
    const data = <T>(event: Event): T => JSON.parse((event as MessageEvent<string>).data) as T;
    // "live" only once the snapshot is in: a feed that opened but sends nothing is not live.
    events.addEventListener('error', () => {
      if (events.readyState === EventSource.CLOSED) {
        setStatus('offline', 'offline, retrying…');
        setTimeout(connect, 2000);
      } else setStatus('reconnecting', 'reconnecting…');
    });
    events.addEventListener('snapshot', (event) => {
      const snapshot = data<StoreState & { messages: Summary[]; more?: boolean; mailEvents?: Record<string, string[]> }>(event);
      eventTypes.clear();
      for (const [id, types] of Object.entries(snapshot.mailEvents ?? {})) if (Array.isArray(types)) eventTypes.set(id, types.slice(-20));
      queue = [];
      olderPieces = [];
      loadingOlder = snapshot.more === true;
      messages = snapshot.messages;
      byId = new Map(messages.map((message) => [message.id, message]));
      state = { total: snapshot.total, bytes: snapshot.bytes, evicted: snapshot.evicted, limits: snapshot.limits };
      for (const row of rows.values()) row.item.remove();
      rows.clear();
      setStatus('live', 'live');
      renderList();
      shownId = undefined;
      renderDetail();
      setTimeout(fullFormat, 300);
    });
    events.addEventListener('message', (event) => {
      const summary = data<Summary & { state?: StoreState }>(event);
      if (summary.state !== undefined) state = summary.state;
      delete summary.state;
      enqueue({ type: 'message', summary });
    });
    // Each older piece is parsed in a task of its own (a few milliseconds for a thousand), so
    // the page answers while ten thousand load.
    const pumpOlder = (): void => {
      const piece = olderPieces.shift();
      if (piece === undefined) return;
      const { messages: summaries, more } = JSON.parse(piece) as { messages: Summary[]; more: boolean };
      if (!more) loadingOlder = false;
      enqueue({ type: 'older', summaries });
      if (olderPieces.length > 0) setTimeout(pumpOlder, 0);
    };
    events.addEventListener('older', (event) => {
      olderPieces.push((event as MessageEvent<string>).data);
      if (olderPieces.length === 1) setTimeout(pumpOlder, 0);
    });
    events.addEventListener('messages', (event) => {
      const batch = data<{ messages: Summary[]; state: StoreState }>(event);
      state = batch.state;
      for (const summary of batch.messages) enqueue({ type: 'message', summary });
    });
    events.addEventListener('remove', (event) => {
      const removal = data<StoreState & { ids: string[] }>(event);
      state = { total: removal.total, bytes: removal.bytes, evicted: removal.evicted, limits: removal.limits };
      enqueue({ type: 'remove', ids: removal.ids });
    });
    events.addEventListener('read', (event) => {
      const change = data<{ ids: string[]; read: boolean }>(event);
      enqueue({ type: 'read', ids: change.ids, read: change.read });
    });
    events.addEventListener('mail-event', (event) => {
      const mailEvent = data<MailEvent>(event);
      if (shown !== undefined && isAbout(mailEvent, shown)) addEvents([mailEvent]);
      const id =
        mailEvent.storeId ??
        (mailEvent.messageId === undefined ? undefined : messages.find((message) => message.messageId === mailEvent.messageId)?.id);
      if (id === undefined || typeof mailEvent.type !== 'string') return;
      const types = eventTypes.get(id) ?? [];
      if (types.includes(mailEvent.type)) return;
      eventTypes.set(id, [...types, mailEvent.type].slice(-20));
      enqueue({ type: 'events', ids: [id] });
    });
    events.addEventListener('clear', (event) => {
      const cleared = data<StoreState>(event);
      state = cleared;
      queue = [];
      olderPieces = [];
      loadingOlder = false;
      messages = [];
      byId = new Map();
      details.clear();
      eventTypes.clear();
      renderList();
      if (selectedId() !== undefined) history.replaceState(null, '', location.pathname);
      shownId = undefined;
      renderDetail();
    });
  }

  // Filtering ten thousand summaries takes a millisecond or two (the lowercase text is cached), so it follows every keystroke.
  search.addEventListener('input', () => {
    query = search.value.trim();
    scroller.scrollTop = 0;
    renderList();
  });
  scroller.addEventListener('scroll', () => renderRows(), { passive: true });
  window.addEventListener('resize', () => renderRows());
  clearButton.addEventListener('click', () => {
    confirmText.textContent =
      messages.length === 0
        ? 'The sandbox holds no messages.'
        : `Delete all ${plural(messages.length, 'message')} from the sandbox? This cannot be undone.`;
    confirmDialog.showModal();
  });
  confirmDialog.addEventListener('close', () => {
    if (confirmDialog.returnValue !== 'delete') return;
    clearButton.disabled = true;
    fetch('/sandbox/messages', { method: 'DELETE' })
      .catch(() => {})
      .finally(() => {
        clearButton.disabled = false;
      });
  });
  window.addEventListener('hashchange', () => {
    renderDetail();
    renderRows();
  });
  document.addEventListener('keydown', (event) => {
    if (event.target instanceof HTMLInputElement || event.metaKey || event.ctrlKey || event.altKey || confirmDialog.open) return;
    if (event.key === 'ArrowDown' || event.key === 'j') moveSelection(1);
    else if (event.key === 'ArrowUp' || event.key === 'k') moveSelection(-1);
    else if (event.key === '/') search.focus();
    else return;
    event.preventDefault();
  });

  showHints();
  connect();
}
