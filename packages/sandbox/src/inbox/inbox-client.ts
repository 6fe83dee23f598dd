/**
 * The inbox page's script. It runs in the browser and is served as its own source text
 * (`inboxClient.toString()`), so it must not refer to anything outside its body; it is written in
 * TypeScript so that the compiler checks it against the DOM.
 *
 * Every piece of message content goes into the page as text (`textContent`), never as markup; the
 * HTML body is shown only in a sandboxed iframe whose document the sandbox serves with a
 * Content-Security-Policy of its own.
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
    hasHtml: boolean;
    preview: string;
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
    rawUrl: string;
    headers: { name: string; value: string }[];
    attachments: Attachment[];
    providerMessageId: string | undefined;
    metadata: Record<string, unknown>;
  }
  type Tab = 'html' | 'text' | 'headers' | 'raw' | 'attachments';
  type Child = Node | string | false | undefined;

  const apiNames: Record<Api, string> = { smtp: 'SMTP', ses: 'Amazon SES v2', gmail: 'Gmail API', graph: 'Microsoft Graph' };
  const rawDisplayLimit = 2 * 1024 * 1024;

  const element = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
  const list = element<HTMLUListElement>('messages');
  const count = element<HTMLSpanElement>('count');
  const search = element<HTMLInputElement>('search');
  const clearButton = element<HTMLButtonElement>('clear');
  const status = element<HTMLSpanElement>('status');
  const detail = element<HTMLElement>('detail');
  const empty = element<HTMLDivElement>('empty');
  const hints = element<HTMLDivElement>('hints');

  let messages: Summary[] = [];
  let query = '';
  let tab: Tab = 'html';
  let shownId: string | undefined;
  const fresh = new Set<string>();
  const details = new Map<string, Promise<Message>>();

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

  const sequence = (id: string): number => Number(id.replace(/\D/g, ''));
  const selectedId = (): string | undefined => decodeURIComponent(location.hash.slice(1)) || undefined;

  function formatSize(bytes: number): string {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  function formatTime(iso: string | undefined): string {
    if (iso === undefined) return '';
    const date = new Date(iso);
    const sameDay = date.toDateString() === new Date().toDateString();
    return sameDay
      ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
      : date.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  }

  function matches(message: Summary): boolean {
    if (query === '') return true;
    const haystack = [message.subject, ...message.to, ...message.cc, ...message.bcc, ...message.envelope.to].join('\n').toLowerCase();
    return query
      .toLowerCase()
      .split(/\s+/)
      .every((word) => haystack.includes(word));
  }

  function badge(api: Api): HTMLElement {
    return make('span', { class: `badge api-${api}`, title: apiNames[api] }, api);
  }

  function renderList(): void {
    const visible = messages.filter(matches);
    const selected = selectedId();
    list.replaceChildren(
      ...visible.map((message) => {
        const recipients = [...message.to, ...message.cc];
        return make(
          'li',
          {
            'data-id': message.id,
            'data-api': message.api,
            class: fresh.has(message.id) ? 'fresh' : undefined,
          },
          make(
            'a',
            { href: `#${encodeURIComponent(message.id)}`, 'aria-current': message.id === selected ? 'true' : undefined },
            make(
              'div',
              { class: 'row' },
              make('span', { class: 'from ellipsis' }, message.from || message.envelope.from || '(no sender)'),
              make('time', { class: 'time', datetime: message.receivedAt }, formatTime(message.receivedAt)),
            ),
            make(
              'div',
              { class: 'row' },
              make('span', { class: 'subject ellipsis' }, message.subject || '(no subject)'),
              message.attachmentCount > 0 &&
                make('span', { class: 'clip', title: `${message.attachmentCount} attachment(s)` }, String(message.attachmentCount)),
            ),
            make(
              'div',
              { class: 'row' },
              badge(message.api),
              make('span', { class: 'to ellipsis' }, `to ${recipients.join(', ') || message.envelope.to.join(', ')}`),
            ),
          ),
        );
      }),
    );
    fresh.clear();
    const total = messages.length;
    count.textContent =
      total === 0
        ? 'No messages'
        : query === ''
          ? `${total} message${total === 1 ? '' : 's'}, newest first`
          : `${visible.length} of ${total} messages match`;
    empty.hidden = total > 0;
    document.title = total === 0 ? 'mailport dev inbox' : `(${total}) mailport dev inbox`;
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

  function renderDetail(): void {
    const id = selectedId();
    if (id === undefined) {
      shownId = undefined;
      detail.replaceChildren(
        make('p', { class: 'placeholder' }, messages.length === 0 ? 'No messages yet.' : 'Select a message to read it.'),
      );
      return;
    }
    if (id === shownId) return;
    shownId = id;
    loadMessage(id).then(
      (message) => {
        if (selectedId() === id) showMessage(message);
      },
      (error: Error) => {
        if (selectedId() === id) detail.replaceChildren(make('p', { class: 'placeholder' }, error.message));
      },
    );
  }

  function showMessage(message: Message): void {
    const metadata = Object.entries(message.metadata).filter(([, value]) => value !== undefined && value !== null && value !== '');
    const tabs: [Tab, string, boolean][] = [
      ['html', 'HTML', message.htmlUrl !== undefined],
      ['text', 'Text', message.text !== undefined],
      ['headers', 'Headers', true],
      ['raw', 'Raw', true],
      ['attachments', `Attachments (${message.attachments.length})`, message.attachments.length > 0],
    ];
    // Keep the tab the reader chose, unless this message has nothing to show there.
    if (!tabs.some(([name, , enabled]) => name === tab && enabled)) tab = message.htmlUrl !== undefined ? 'html' : 'text';
    const panel = make('div', { class: 'panel', role: 'tabpanel', id: 'panel' });
    const tabBar = make(
      'div',
      { class: 'tabs', role: 'tablist' },
      ...tabs.map(([name, label, enabled]) => {
        const button = make(
          'button',
          { class: 'tab', type: 'button', role: 'tab', 'data-tab': name, 'aria-selected': String(name === tab), disabled: !enabled },
          label,
        );
        button.addEventListener('click', () => {
          tab = name;
          for (const other of tabBar.querySelectorAll('.tab')) other.setAttribute('aria-selected', String(other === button));
          showPanel(message, panel);
        });
        return button;
      }),
    );
    detail.replaceChildren(
      make(
        'article',
        { class: 'message', 'data-id': message.id },
        make(
          'div',
          { class: 'message-head' },
          make('h2', { class: 'subject' }, message.subject || '(no subject)'),
          make(
            'div',
            { class: 'via' },
            badge(message.api),
            make('span', { class: 'api-name' }, apiNames[message.api]),
            make('span', { class: 'operation' }, message.operation),
            make('span', {}, `received ${formatTime(message.receivedAt)}`),
            make('span', {}, formatSize(message.size)),
          ),
          make(
            'dl',
            { class: 'fields' },
            ...field('From', message.from),
            ...field('To', message.to.join(', ')),
            ...field('Cc', message.cc.join(', ')),
            ...field('Bcc', message.bcc.join(', '), '(envelope only: not in the headers)'),
            ...field('Reply-To', message.replyTo.join(', ')),
            ...field('Date', message.date === undefined ? undefined : new Date(message.date).toLocaleString()),
            ...field('Envelope', `from ${message.envelope.from || '<>'} to ${message.envelope.to.join(', ')}`),
            ...field('Message-ID', message.messageId),
            ...field('Provider id', message.providerMessageId),
            ...field(
              'Details',
              metadata.map(([name, value]) => `${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}`).join(' · '),
            ),
          ),
        ),
        tabBar,
        panel,
      ),
    );
    showPanel(message, panel);
  }

  function showPanel(message: Message, panel: HTMLElement): void {
    panel.className = `panel panel-${tab}`;
    panel.dataset.tab = tab;
    switch (tab) {
      case 'html':
        panel.replaceChildren(
          message.htmlUrl === undefined
            ? make('p', { class: 'note' }, 'This message has no HTML body.')
            : // No allow-scripts, no allow-same-origin: the message's HTML gets an opaque origin and cannot run code.
              make('iframe', {
                src: message.htmlUrl,
                sandbox: 'allow-popups allow-popups-to-escape-sandbox',
                referrerpolicy: 'no-referrer',
                title: 'HTML body',
              }),
        );
        return;
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
        fetch(message.rawUrl)
          .then((response) => (response.ok ? response.text() : Promise.reject(new Error(`HTTP ${response.status}`))))
          .then(
            (text) => {
              pre.textContent =
                text.length > rawDisplayLimit ? `${text.slice(0, rawDisplayLimit)}\n\n… (cut here; download the .eml for the rest)` : text;
            },
            (error: Error) => {
              pre.textContent = `Could not load the raw message: ${error.message}`;
            },
          );
        return;
      }
      case 'attachments':
        panel.replaceChildren(
          make(
            'ul',
            { class: 'attachments' },
            ...message.attachments.map((attachment) =>
              make(
                'li',
                { 'data-index': String(attachment.index) },
                make('span', { class: 'name' }, attachment.filename),
                make(
                  'span',
                  { class: 'kind' },
                  `${attachment.contentType}, ${formatSize(attachment.size)}${attachment.inline ? `, inline (cid:${attachment.contentId})` : ''}`,
                ),
                make('a', { class: 'download', href: attachment.url, download: attachment.filename }, 'Download'),
              ),
            ),
          ),
        );
        return;
    }
  }

  function moveSelection(step: number): void {
    const visible = messages.filter(matches);
    if (visible.length === 0) return;
    const current = visible.findIndex((message) => message.id === selectedId());
    const next = visible[Math.min(visible.length - 1, Math.max(0, current === -1 ? 0 : current + step))];
    if (next === undefined) return;
    location.hash = encodeURIComponent(next.id);
    list.querySelector(`li[data-id="${CSS.escape(next.id)}"]`)?.scrollIntoView({ block: 'nearest' });
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
    const setStatus = (state: string, label: string): void => {
      status.dataset.state = state;
      status.textContent = label;
    };
    events.addEventListener('open', () => setStatus('live', 'live'));
    events.addEventListener('error', () => setStatus('reconnecting', 'reconnecting…'));
    events.addEventListener('snapshot', (event) => {
      messages = (JSON.parse((event as MessageEvent<string>).data) as { messages: Summary[] }).messages;
      setStatus('live', 'live');
      renderList();
      renderDetail();
    });
    events.addEventListener('message', (event) => {
      const message = JSON.parse((event as MessageEvent<string>).data) as Summary;
      if (messages.some((known) => known.id === message.id)) return;
      fresh.add(message.id);
      messages = [message, ...messages].sort((a, b) => sequence(b.id) - sequence(a.id));
      renderList();
    });
    events.addEventListener('clear', () => {
      messages = [];
      details.clear();
      renderList();
      if (selectedId() !== undefined) history.replaceState(null, '', location.pathname);
      renderDetail();
    });
  }

  search.addEventListener('input', () => {
    query = search.value.trim();
    renderList();
  });
  clearButton.addEventListener('click', () => {
    clearButton.disabled = true;
    fetch('/sandbox/messages', { method: 'DELETE' })
      .catch(() => {})
      .finally(() => {
        clearButton.disabled = false;
      });
  });
  window.addEventListener('hashchange', () => {
    renderDetail();
    for (const item of list.querySelectorAll('li')) {
      const link = item.querySelector('a');
      if (item.dataset.id === selectedId()) link?.setAttribute('aria-current', 'true');
      else link?.removeAttribute('aria-current');
    }
  });
  document.addEventListener('keydown', (event) => {
    if (event.target instanceof HTMLInputElement || event.metaKey || event.ctrlKey || event.altKey) return;
    if (event.key === 'ArrowDown' || event.key === 'j') moveSelection(1);
    else if (event.key === 'ArrowUp' || event.key === 'k') moveSelection(-1);
    else if (event.key === '/') {
      event.preventDefault();
      search.focus();
    } else return;
    event.preventDefault();
  });

  showHints();
  connect();
}
