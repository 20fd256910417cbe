/*
 * Digituki chat widget — one plain script: no build step, no dependencies.
 *
 * Embed it with one tag:
 *
 *   <script src="https://host/widget/widget.js"
 *           data-server="http://localhost:5005" data-lang="fi" defer></script>
 *
 * It loads widget.css from the same folder as this script, adds a launcher
 * button (bottom right) and a chat panel to the page, and talks to the Rasa
 * channel `connectors/widget.py` over one WebSocket. The frames (hello /
 * welcome / message / ack / restart / typing / error), the `seq` numbers and
 * what is kept in sessionStorage are specified in docs/widget-protocol.md.
 *
 * Structure of this file (one IIFE, nothing leaks but window.DigitukiWidget):
 *   1. configuration      where the script, the CSS and the server are
 *   2. labels             every text of the widget in fi / sv / en
 *   3. storage            sessionStorage: session id, last_seq, transcript, settings
 *   4. DOM helpers        createElement-based; data is only ever set as text
 *   5. building the UI    launcher, panel, header, toolbar, log, input
 *   6. rendering          transcript entries: messages, quick replies, provider cards
 *   7. connection         WebSocket, hello/welcome, reconnect with backoff
 *   8. actions            send, quick reply, language, person, location, clear, text size
 *   9. open / close       launcher, Escape, focus
 *  10. start
 *
 * Security: text from the person or the server is put on the page only with
 * textContent / createTextNode; links are made only from http, https and tel
 * URLs. No innerHTML, no eval, no inline event handlers.
 */
(function () {
  'use strict';

  if (window.DigitukiWidget) {
    return; // embedded twice: the first one stays
  }

  /* ------------------------------------------------------------------ *
   * 1. Configuration
   * ------------------------------------------------------------------ */

  var LANGS = ['fi', 'sv', 'en'];
  var MAX_TEXT = 1000; // protocol: a message's text is 1–1000 characters
  var MAX_TRANSCRIPT = 300; // entries kept in sessionStorage
  var TEXT_SCALES = [1, 1.125, 1.25, 1.5, 1.75]; // × 16 px: text size steps
  var DEFAULT_SCALE = 1; // index into TEXT_SCALES: 18 px
  var MAX_BACKOFF_MS = 30000;
  var TYPING_TIMEOUT_MS = 60000; // hide a "typing" that was never turned off

  var script = document.currentScript || findOwnScript();

  /** The <script> tag of this widget when currentScript is not available. */
  function findOwnScript() {
    var tags = document.querySelectorAll('script[src*="widget.js"]');
    return tags.length ? tags[tags.length - 1] : null;
  }

  /** widget.css next to widget.js. */
  function cssUrl() {
    var base = (script && script.src) || location.href;
    return new URL('widget.css', base).href;
  }

  /** ws(s)://<data-server>/webhooks/widget/websocket (page origin if missing). */
  function websocketUrl() {
    var server = (script && script.getAttribute('data-server')) || '';
    var url;
    try {
      url = new URL(server);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new Error('not http');
      }
    } catch (e) {
      url = new URL(location.origin);
    }
    var path = url.pathname.replace(/\/+$/, '') + '/webhooks/widget/websocket';
    var scheme = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return scheme + '//' + url.host + path;
  }

  /** data-lang, else the page's <html lang>, else Finnish. */
  function initialLanguage() {
    var candidates = [
      script && script.getAttribute('data-lang'),
      document.documentElement.getAttribute('lang')
    ];
    for (var i = 0; i < candidates.length; i++) {
      var code = (candidates[i] || '').toLowerCase().slice(0, 2);
      if (LANGS.indexOf(code) !== -1) {
        return code;
      }
    }
    return 'fi';
  }

  /* ------------------------------------------------------------------ *
   * 2. Labels (card words follow data/labels.yml)
   * ------------------------------------------------------------------ */

  var LABELS = {
    fi: {
      region: 'Digituki-chat',
      launcher: 'Kysy digiavusta',
      unread: 'uusi viesti',
      title: 'Digituki',
      subtitle: 'Opas digitukeen',
      close: 'Sulje keskustelu',
      menu: 'Valikko',
      tools: 'Toiminnot',
      language: 'Kieli',
      human: 'Puhu ihmisen kanssa',
      location: 'Käytä sijaintiani',
      clear: 'Tyhjennä keskustelu',
      textSize: 'Tekstin koko',
      textSizeShort: 'Teksti',
      smaller: 'Pienennä tekstiä',
      larger: 'Suurenna tekstiä',
      textSizeNow: 'Tekstin koko {n}/{max}',
      log: 'Keskustelu',
      botPrefix: 'Digituki:',
      workerRole: 'digitukija',
      cardsOne: '1 paikka: {names}.',
      cardsMany: '{n} paikkaa: {names}.',
      moreDetails: 'Lisätiedot',
      youPrefix: 'Sinä:',
      inputLabel: 'Kirjoita viesti',
      placeholder: 'Kirjoita tähän',
      send: 'Lähetä',
      notSent: 'Ei lähetetty',
      retry: 'Yritä uudelleen',
      retryUnsent: 'Yritä uudelleen: lähetä lähettämättömät viestit',
      typing: 'Digituki kirjoittaa…',
      connecting: 'Yhdistetään…',
      reconnecting: 'Yhteys katkesi. Yhdistetään uudelleen…',
      unavailable: 'Chat ei ole nyt käytettävissä. Yritämme yhdistää taustalla.',
      refused: 'Chat ei ole käytettävissä tällä sivulla.',
      callInstead: 'Voit soittaa numeroon {phone}.',
      demoNotice: 'Demo: näytetyt tukipalvelut ovat keksittyjä esimerkkejä.',
      confirmClear: 'Tyhjennetäänkö keskustelu? Viestit poistuvat tästä ikkunasta.',
      confirmYes: 'Kyllä, tyhjennä',
      confirmNo: 'Peruuta',
      cleared: 'Keskustelu tyhjennetty.',
      newConversation: 'Uusi keskustelu alkoi',
      myLocation: '📍 Sijaintini',
      locating: 'Haetaan sijaintia…',
      locationFailed: 'Sijaintia ei saatu, eikä mitään lähetetty. Voit kirjoittaa kuntasi nimen.',
      replies: 'Vastausvaihtoehdot',
      tooLong: 'Viesti on liian pitkä. Lyhennä sitä ja yritä uudelleen.',
      err_bad_frame: 'Viestiä ei voitu käsitellä. Yritä uudelleen.',
      err_too_large: 'Viesti on liian pitkä. Lyhennä sitä ja yritä uudelleen.',
      err_rate_limited: 'Lähetit monta viestiä peräkkäin. Odota hetki ja yritä uudelleen.',
      err_no_session: 'Yhteys ei ollut vielä valmis. Yritä uudelleen.',
      err_unavailable: 'Viestiäsi ei voitu nyt käsitellä, koska palvelussa on häiriö. Lähetä se hetken päästä uudelleen.',
      err_too_many_sessions: 'Tästä verkosta on juuri aloitettu monta uutta keskustelua. Odota hetki, yhdistämme uudelleen.',
      err_other: 'Jokin meni vikaan. Yritä uudelleen.',
      helpsWith: 'Auttaa',
      forms: 'Tukimuodot',
      openingHours: 'Aukioloajat',
      languages: 'Palvelukielet',
      openNow: 'Avoinna nyt',
      closedNow: 'Suljettu nyt',
      remote: 'Etätuki',
      address: 'Osoite',
      demo: 'Esimerkkitieto (demo)',
      phone: 'Puhelin',
      web: 'Verkkosivu',
      map: 'Kartta',
      newTab: '(avautuu uuteen välilehteen)',
      kmAway: 'noin {km} km päässä'
    },
    sv: {
      region: 'Digituki-chatt',
      launcher: 'Fråga om digihjälp',
      unread: 'nytt meddelande',
      title: 'Digituki',
      subtitle: 'Vägvisare till digistöd',
      close: 'Stäng chatten',
      menu: 'Meny',
      tools: 'Funktioner',
      language: 'Språk',
      human: 'Tala med en människa',
      location: 'Använd min plats',
      clear: 'Töm samtalet',
      textSize: 'Textstorlek',
      textSizeShort: 'Text',
      smaller: 'Mindre text',
      larger: 'Större text',
      textSizeNow: 'Textstorlek {n}/{max}',
      log: 'Samtal',
      botPrefix: 'Digituki:',
      workerRole: 'digistödjare',
      cardsOne: '1 ställe: {names}.',
      cardsMany: '{n} ställen: {names}.',
      moreDetails: 'Mer information',
      youPrefix: 'Du:',
      inputLabel: 'Skriv ett meddelande',
      placeholder: 'Skriv här',
      send: 'Skicka',
      notSent: 'Inte skickat',
      retry: 'Försök igen',
      retryUnsent: 'Försök igen: skicka meddelandena som inte har skickats',
      typing: 'Digituki skriver…',
      connecting: 'Ansluter…',
      reconnecting: 'Anslutningen bröts. Ansluter igen…',
      unavailable: 'Chatten är inte tillgänglig just nu. Vi försöker ansluta i bakgrunden.',
      refused: 'Chatten är inte tillgänglig på den här sidan.',
      callInstead: 'Du kan ringa {phone}.',
      demoNotice: 'Demo: stödtjänsterna som visas är påhittade exempel.',
      confirmClear: 'Vill du tömma samtalet? Meddelandena tas bort från det här fönstret.',
      confirmYes: 'Ja, töm',
      confirmNo: 'Avbryt',
      cleared: 'Samtalet har tömts.',
      newConversation: 'Ett nytt samtal började',
      myLocation: '📍 Min plats',
      locating: 'Hämtar din plats…',
      locationFailed: 'Platsen kunde inte hämtas och inget skickades. Du kan skriva namnet på din kommun.',
      replies: 'Svarsalternativ',
      tooLong: 'Meddelandet är för långt. Förkorta det och försök igen.',
      err_bad_frame: 'Meddelandet kunde inte behandlas. Försök igen.',
      err_too_large: 'Meddelandet är för långt. Förkorta det och försök igen.',
      err_rate_limited: 'Du skickade många meddelanden i rad. Vänta en stund och försök igen.',
      err_no_session: 'Anslutningen var inte klar ännu. Försök igen.',
      err_unavailable: 'Ditt meddelande kunde inte behandlas nu på grund av en störning. Skicka det igen om en stund.',
      err_too_many_sessions: 'Många nya samtal har just startats från det här nätverket. Vänta en stund, vi ansluter igen.',
      err_other: 'Något gick fel. Försök igen.',
      helpsWith: 'Hjälper med',
      forms: 'Stödformer',
      openingHours: 'Öppettider',
      languages: 'Språk',
      openNow: 'Öppet nu',
      closedNow: 'Stängt nu',
      remote: 'Distansstöd',
      address: 'Adress',
      demo: 'Exempeldata (demo)',
      phone: 'Telefon',
      web: 'Webbsida',
      map: 'Karta',
      newTab: '(öppnas i en ny flik)',
      kmAway: 'cirka {km} km bort'
    },
    en: {
      region: 'Digituki chat',
      launcher: 'Ask about digital help',
      unread: 'new message',
      title: 'Digituki',
      subtitle: 'Your guide to digital support',
      close: 'Close chat',
      menu: 'Menu',
      tools: 'Tools',
      language: 'Language',
      human: 'Talk to a person',
      location: 'Use my location',
      clear: 'Clear conversation',
      textSize: 'Text size',
      textSizeShort: 'Text',
      smaller: 'Smaller text',
      larger: 'Larger text',
      textSizeNow: 'Text size {n} of {max}',
      log: 'Conversation',
      botPrefix: 'Digituki:',
      workerRole: 'digital support worker',
      cardsOne: '1 place: {names}.',
      cardsMany: '{n} places: {names}.',
      moreDetails: 'More details',
      youPrefix: 'You:',
      inputLabel: 'Write a message',
      placeholder: 'Type here',
      send: 'Send',
      notSent: 'Not sent',
      retry: 'Try again',
      retryUnsent: 'Try again: send the unsent messages',
      typing: 'Digituki is typing…',
      connecting: 'Connecting…',
      reconnecting: 'Connection lost. Reconnecting…',
      unavailable: 'The chat is not available right now. We keep trying to connect.',
      refused: 'The chat is not available on this page.',
      callInstead: 'You can call {phone}.',
      demoNotice: 'Demo: the support providers shown are invented examples.',
      confirmClear: 'Clear the conversation? The messages will be removed from this window.',
      confirmYes: 'Yes, clear',
      confirmNo: 'Cancel',
      cleared: 'The conversation was cleared.',
      newConversation: 'A new conversation started',
      myLocation: '📍 My location',
      locating: 'Getting your location…',
      locationFailed: 'Could not get your location, and nothing was sent. You can type the name of your municipality.',
      replies: 'Reply options',
      tooLong: 'The message is too long. Please shorten it and try again.',
      err_bad_frame: 'The message could not be handled. Please try again.',
      err_too_large: 'The message is too long. Please shorten it and try again.',
      err_rate_limited: 'You sent many messages in a row. Please wait a moment and try again.',
      err_no_session: 'The connection was not ready yet. Please try again.',
      err_unavailable: 'Your message could not be handled just now because of a fault. Please send it again in a moment.',
      err_too_many_sessions: 'Many new conversations were just started from this network. Please wait a moment; we will reconnect.',
      err_other: 'Something went wrong. Please try again.',
      helpsWith: 'Helps with',
      forms: 'Ways to get help',
      openingHours: 'Opening hours',
      languages: 'Languages',
      openNow: 'Open now',
      closedNow: 'Closed now',
      remote: 'Remote support',
      address: 'Address',
      demo: 'Demo data',
      phone: 'Phone',
      web: 'Web page',
      map: 'Map',
      newTab: '(opens in a new tab)',
      kmAway: 'about {km} km away'
    }
  };

  /** Names of the languages, each in its own language (for the switch). */
  var LANGUAGE_NAMES = { fi: 'suomi', sv: 'svenska', en: 'English' };

  /** The label `key` in the current language, with {name} placeholders filled. */
  function t(key, params) {
    return tIn(state.lang, key, params);
  }

  /** The label `key` in `lang` (a card keeps the language its content came in). */
  function tIn(lang, key, params) {
    var text = (LABELS[lang] || LABELS[state.lang])[key];
    if (text === undefined) {
      text = LABELS.en[key] || key;
    }
    if (params) {
      text = text.replace(/\{(\w+)\}/g, function (all, name) {
        return params[name] !== undefined ? String(params[name]) : all;
      });
    }
    return text;
  }

  /* ------------------------------------------------------------------ *
   * 3. Storage (sessionStorage: this tab only, gone when it is closed)
   * ------------------------------------------------------------------ */

  var KEY = {
    session: 'digituki.session_id',
    lastSeq: 'digituki.last_seq',
    transcript: 'digituki.transcript',
    lang: 'digituki.lang',
    textSize: 'digituki.text_size',
    open: 'digituki.open',
    demo: 'digituki.demo_data'
  };

  /** A stored JSON value, or `fallback` (storage may be disabled). */
  function load(key, fallback) {
    try {
      var raw = window.sessionStorage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) {
      return fallback;
    }
  }

  /** Store a JSON value; null removes it. Never throws. */
  function save(key, value) {
    try {
      if (value === null || value === undefined) {
        window.sessionStorage.removeItem(key);
      } else {
        window.sessionStorage.setItem(key, JSON.stringify(value));
      }
    } catch (e) {
      // Full or disabled storage: the widget still works for this page.
    }
  }

  /** Store the transcript, dropping the oldest entries when it grows too big. */
  function saveTranscript() {
    if (state.transcript.length > MAX_TRANSCRIPT) {
      state.transcript = state.transcript.slice(-MAX_TRANSCRIPT);
    }
    save(KEY.transcript, state.transcript);
  }

  /* ------------------------------------------------------------------ *
   * State
   * ------------------------------------------------------------------ */

  var state = {
    lang: initialLanguage(),
    sessionId: null,
    lastSeq: 0,
    transcript: [],
    scaleIndex: DEFAULT_SCALE,
    demo: false,
    open: false,
    maxText: MAX_TEXT,
    ws: null, // the current WebSocket
    ready: false, // welcome received on the current socket
    started: false, // connecting was asked for at least once
    queue: [], // frames waiting for the next welcome
    unhandled: [], // the person's messages without a `handled` yet: sent again after a reconnect
    attempts: 0, // failed connections in a row (backoff)
    reconnectTimer: null,
    failedOpens: 0, // connections in a row that never opened
    refused: false, // the server refuses this page's origin
    typingTimer: null,
    status: null, // {key, params} of the status line
    statusTimer: null,
    locating: false,
    cardCount: 0
  };

  /** Read everything this tab stored before (a page load or reload). */
  function restoreState() {
    var lang = load(KEY.lang, null);
    if (LANGS.indexOf(lang) !== -1) {
      state.lang = lang; // the person chose it with the switch
    }
    var session = load(KEY.session, null);
    state.sessionId = typeof session === 'string' && session ? session : null;
    var seq = load(KEY.lastSeq, 0);
    state.lastSeq = typeof seq === 'number' && seq >= 0 ? seq : 0;
    var transcript = load(KEY.transcript, []);
    state.transcript = Array.isArray(transcript) ? transcript.filter(isObject) : [];
    state.transcript.forEach(function (entry) {
      if (isObject(entry.unsent)) {
        // Written before this page load and never sent: it goes on the next welcome.
        state.queue.push(entry.unsent);
        state.unhandled.push(entry.unsent);
      }
    });
    var scale = load(KEY.textSize, DEFAULT_SCALE);
    state.scaleIndex = typeof scale === 'number' && TEXT_SCALES[scale] ? scale : DEFAULT_SCALE;
    state.demo = load(KEY.demo, false) === true;
    state.open = load(KEY.open, false) === true;
  }

  /* ------------------------------------------------------------------ *
   * 4. DOM helpers
   * ------------------------------------------------------------------ */

  /** A new element with optional class names and text (always as text). */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  /**
   * Bind an element to a label so a language switch can update it:
   * `what` is 'text' (textContent), 'aria' (aria-label) or 'placeholder'.
   */
  function bind(node, key, what) {
    node.setAttribute('data-digituki-' + (what || 'text'), key);
    applyLabel(node);
    return node;
  }

  /** Put the current-language labels on one bound element. */
  function applyLabel(node) {
    var text = node.getAttribute('data-digituki-text');
    var aria = node.getAttribute('data-digituki-aria');
    var placeholder = node.getAttribute('data-digituki-placeholder');
    if (text) {
      node.textContent = t(text);
    }
    if (aria) {
      node.setAttribute('aria-label', t(aria));
    }
    if (placeholder) {
      node.setAttribute('placeholder', t(placeholder));
    }
  }

  /** A visually hidden text for screen readers, bound to a label. */
  function srLabel(key) {
    return bind(el('span', 'digituki-sr'), key);
  }

  /**
   * A label in `lang` that a language switch leaves as it is: a card's labels stay in
   * the language of its content, so no card is ever half in one language.
   */
  function fixedLabel(node, key, lang) {
    if (LANGS.indexOf(lang) === -1) {
      return bind(node, key);
    }
    node.textContent = tIn(lang, key);
    node.lang = lang;
    return node;
  }

  /** "Digituki: " / "You: " before a message, for screen readers only. */
  function srPrefix(key) {
    var prefix = el('span', 'digituki-sr');
    prefix.appendChild(bind(el('span'), key));
    prefix.appendChild(document.createTextNode(' '));
    return prefix;
  }

  /** A <button type="button"> with a click handler. */
  function button(className, onClick) {
    var node = el('button', 'digituki-btn ' + (className || ''));
    node.type = 'button';
    node.addEventListener('click', onClick);
    return node;
  }

  var SVG_NS = 'http://www.w3.org/2000/svg';

  /** Line icons (24×24, stroked with currentColor); fixed shapes, never data. */
  var ICONS = {
    chat: [['path', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z']],
    close: [['path', 'M6 6l12 12M18 6L6 18']],
    person: [['circle', 12, 8, 4], ['path', 'M4 21c0-4.4 3.6-7 8-7s8 2.6 8 7']],
    pin: [['path', 'M12 22s7-6.6 7-12a7 7 0 0 0-14 0c0 5.4 7 12 7 12z'], ['circle', 12, 10, 2.5]],
    trash: [['path', 'M4 7h16M9 7V4h6v3M6 7l1 14h10l1-14M10 11v6M14 11v6']],
    send: [['path', 'M3 11l18-8-8 18-2-8-8-2z']]
  };

  /** An inline SVG icon, hidden from assistive technology. */
  function icon(name) {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('class', 'digituki-icon');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    ICONS[name].forEach(function (shape) {
      var node = document.createElementNS(SVG_NS, shape[0]);
      if (shape[0] === 'path') {
        node.setAttribute('d', shape[1]);
      } else {
        node.setAttribute('cx', shape[1]);
        node.setAttribute('cy', shape[2]);
        node.setAttribute('r', shape[3]);
      }
      svg.appendChild(node);
    });
    return svg;
  }

  /** `url` as a string if its scheme is in `schemes` (e.g. ['https:']), else ''. */
  function safeUrl(url, schemes) {
    if (typeof url !== 'string' || !url) {
      return '';
    }
    try {
      var parsed = new URL(url); // relative or malformed URLs throw
      return schemes.indexOf(parsed.protocol) !== -1 ? parsed.href : '';
    } catch (e) {
      return '';
    }
  }

  /** A link that opens in a new tab, with a hidden "(opens in a new tab)". */
  function externalLink(href, className) {
    var link = el('a', className);
    link.href = href;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    return link;
  }

  /** Append `text` to `parent`, turning http(s) URLs into links (text nodes only). */
  function appendLinkified(parent, text) {
    var pattern = /https?:\/\/[^\s<>"']+/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      var url = match[0].replace(/[.,;:!?)\]]+$/, '');
      var href = safeUrl(url, ['http:', 'https:']);
      if (!href) {
        continue;
      }
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      var link = externalLink(href, 'digituki-link');
      link.appendChild(document.createTextNode(url));
      link.appendChild(document.createTextNode(' '));
      link.appendChild(srLabel('newTab'));
      parent.appendChild(link);
      last = match.index + url.length;
      pattern.lastIndex = last;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function isObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  function str(value) {
    return typeof value === 'string' ? value : '';
  }

  function list(value) {
    return Array.isArray(value) ? value : [];
  }

  /* ------------------------------------------------------------------ *
   * 5. Building the UI
   * ------------------------------------------------------------------ */

  var ui = {}; // the elements the widget updates later

  /** Load widget.css once. */
  function addStylesheet() {
    var href = cssUrl();
    if (document.querySelector('link[data-digituki-css]')) {
      return;
    }
    var link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = href;
    link.setAttribute('data-digituki-css', '');
    // The layout changes when the styles arrive: the newest message is brought into view again.
    link.addEventListener('load', function () {
      if (state.open) {
        scrollToEnd();
      }
    });
    (document.head || document.documentElement).appendChild(link);
  }

  /** The whole widget: a complementary landmark with the launcher and the panel. */
  function buildRoot() {
    var root = bind(el('aside', 'digituki-root'), 'region', 'aria');
    root.lang = state.lang;
    root.appendChild(buildLauncher());
    root.appendChild(buildPanel());
    root.addEventListener('keydown', onRootKeydown);
    ui.root = root;
    applyTextScale();
    return root;
  }

  function buildLauncher() {
    var launcher = button('digituki-launcher', togglePanel);
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-controls', 'digituki-panel');
    launcher.appendChild(icon('chat'));
    launcher.appendChild(bind(el('span', 'digituki-launcher-text'), 'launcher'));
    var unread = el('span', 'digituki-unread');
    unread.hidden = true;
    unread.appendChild(el('span', 'digituki-unread-dot')).setAttribute('aria-hidden', 'true');
    unread.appendChild(document.createTextNode(' '));
    unread.appendChild(srLabel('unread'));
    launcher.appendChild(unread);
    ui.launcher = launcher;
    ui.unread = unread;
    return launcher;
  }

  function buildPanel() {
    var panel = el('section', 'digituki-panel');
    panel.id = 'digituki-panel';
    panel.setAttribute('aria-labelledby', 'digituki-title');
    panel.hidden = true;
    panel.appendChild(buildHeader());
    panel.appendChild(buildToolbar());
    panel.appendChild(buildConfirm());
    panel.appendChild(buildNotice());
    panel.appendChild(buildLog());
    panel.appendChild(buildTyping());
    panel.appendChild(buildStatus());
    panel.appendChild(buildForm());
    ui.panel = panel;
    return panel;
  }

  /** Title, language switch and close button. */
  function buildHeader() {
    var header = el('div', 'digituki-header');
    var titles = el('div', 'digituki-titles');
    var title = bind(el('h2', 'digituki-title'), 'title');
    title.id = 'digituki-title';
    titles.appendChild(title);
    titles.appendChild(bind(el('p', 'digituki-subtitle'), 'subtitle'));
    header.appendChild(titles);
    header.appendChild(buildLanguageSwitch());
    header.appendChild(buildMenuToggle());
    var close = button('digituki-close', function () {
      closePanel(true);
    });
    bind(close, 'close', 'aria');
    close.appendChild(icon('close'));
    header.appendChild(close);
    return header;
  }

  /** FI / SV / EN buttons; the pressed one is the conversation language. */
  function buildLanguageSwitch() {
    var group = bind(el('div', 'digituki-langs'), 'language', 'aria');
    group.setAttribute('role', 'group');
    ui.langButtons = {};
    LANGS.forEach(function (code) {
      var btn = button('digituki-lang', function () {
        changeLanguage(code);
      });
      btn.lang = code;
      btn.appendChild(el('span', 'digituki-lang-code', code.toUpperCase()));
      btn.appendChild(el('span', 'digituki-sr', ' – ' + LANGUAGE_NAMES[code]));
      group.appendChild(btn);
      ui.langButtons[code] = btn;
    });
    updateLanguageButtons();
    return group;
  }

  /**
   * On small or short screens (see widget.css) the toolbar is folded away
   * behind this "Menu" button, so the messages get the room; elsewhere the
   * button is not shown and the toolbar always is.
   */
  function buildMenuToggle() {
    var toggle = bind(button('digituki-menu-toggle', toggleTools), 'menu');
    toggle.setAttribute('aria-expanded', 'false');
    toggle.setAttribute('aria-controls', 'digituki-tools');
    ui.menuToggle = toggle;
    return toggle;
  }

  function toggleTools() {
    var open = ui.menuToggle.getAttribute('aria-expanded') !== 'true';
    ui.menuToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    ui.toolbar.classList.toggle('digituki-tools-open', open);
  }

  /** Talk to a person, my location, text size, clear. */
  function buildToolbar() {
    var bar = bind(el('div', 'digituki-toolbar'), 'tools', 'aria');
    bar.id = 'digituki-tools';
    bar.setAttribute('role', 'group');
    ui.toolbar = bar;
    var human = toolButton('person', 'human', requestHuman);
    human.classList.add('digituki-tool-human'); // never folded away on small screens
    bar.appendChild(human);
    var loc = toolButton('pin', 'location', useLocation);
    ui.locationButton = loc;
    bar.appendChild(loc);
    ui.clearButton = toolButton('trash', 'clear', showConfirm);
    bar.appendChild(ui.clearButton);
    bar.appendChild(buildTextSize());
    return bar;
  }

  function toolButton(iconName, labelKey, onClick) {
    var btn = button('digituki-tool', onClick);
    btn.appendChild(icon(iconName));
    btn.appendChild(bind(el('span'), labelKey));
    return btn;
  }

  function buildTextSize() {
    var group = bind(el('div', 'digituki-size'), 'textSize', 'aria');
    group.setAttribute('role', 'group');
    var caption = bind(el('span', 'digituki-size-caption'), 'textSizeShort');
    caption.setAttribute('aria-hidden', 'true');
    group.appendChild(caption);
    ui.smaller = sizeButton('A−', 'smaller', -1);
    ui.larger = sizeButton('A+', 'larger', 1);
    group.appendChild(ui.smaller);
    group.appendChild(ui.larger);
    return group;
  }

  /** "A−" / "A+": the visible text starts the accessible name ("A+ – Larger text"). */
  function sizeButton(text, labelKey, step) {
    var btn = button('digituki-size-btn', function () {
      changeTextSize(step);
    });
    btn.appendChild(document.createTextNode(text));
    btn.appendChild(el('span', 'digituki-sr', ' – '));
    btn.lastChild.appendChild(bind(el('span'), labelKey));
    return btn;
  }

  /** The in-widget "clear the conversation?" question. */
  function buildConfirm() {
    var box = el('div', 'digituki-confirm');
    box.setAttribute('role', 'group');
    box.setAttribute('aria-labelledby', 'digituki-confirm-q');
    box.hidden = true;
    var question = bind(el('p', 'digituki-confirm-q'), 'confirmClear');
    question.id = 'digituki-confirm-q';
    question.tabIndex = -1;
    box.appendChild(question);
    var actions = el('div', 'digituki-confirm-actions');
    actions.appendChild(bind(button('digituki-danger', clearConversation), 'confirmYes'));
    actions.appendChild(bind(button('digituki-secondary', function () {
      hideConfirm(true);
    }), 'confirmNo'));
    box.appendChild(actions);
    ui.confirm = box;
    ui.confirmQuestion = question;
    return box;
  }

  function buildNotice() {
    var notice = bind(el('p', 'digituki-notice'), 'demoNotice');
    notice.hidden = !state.demo;
    ui.notice = notice;
    return notice;
  }

  /** The message list: a polite live log, keyboard-scrollable. */
  function buildLog() {
    var log = bind(el('div', 'digituki-log'), 'log', 'aria');
    log.setAttribute('role', 'log');
    log.setAttribute('aria-live', 'polite');
    log.tabIndex = 0;
    ui.log = log;
    ui.unsent = {}; // message id → the log item of a message not sent yet
    return log;
  }

  /** "Digituki is typing…": a status region that stays, its content comes and goes. */
  function buildTyping() {
    var region = el('div', 'digituki-typing-region');
    region.setAttribute('role', 'status');
    var typing = el('div', 'digituki-typing');
    var dots = el('span', 'digituki-dots');
    dots.setAttribute('aria-hidden', 'true');
    for (var i = 0; i < 3; i++) {
      dots.appendChild(el('span', 'digituki-dot'));
    }
    var text = bind(el('span', 'digituki-typing-text'), 'typing');
    typing.appendChild(dots);
    typing.appendChild(text);
    typing.hidden = true;
    region.appendChild(typing);
    ui.typing = typing;
    return region;
  }

  /** Connection and other short, polite status lines. */
  function buildStatus() {
    var status = el('p', 'digituki-status');
    status.setAttribute('role', 'status');
    ui.status = status;
    return status;
  }

  function buildForm() {
    var form = el('form', 'digituki-form');
    form.noValidate = true;
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      submitInput();
    });
    var label = bind(el('label', 'digituki-sr'), 'inputLabel');
    label.htmlFor = 'digituki-input';
    var input = bind(el('textarea', 'digituki-input'), 'placeholder', 'placeholder');
    input.id = 'digituki-input';
    input.rows = 2;
    input.maxLength = state.maxText;
    input.autocomplete = 'off';
    input.addEventListener('keydown', onInputKeydown);
    input.addEventListener('input', fitInput);
    var send = el('button', 'digituki-btn digituki-send');
    send.type = 'submit';
    send.appendChild(icon('send'));
    send.appendChild(bind(el('span'), 'send'));
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(send);
    ui.input = input;
    return form;
  }

  /* ------------------------------------------------------------------ *
   * 6. Rendering the transcript
   *
   * Entries (stored in sessionStorage) are plain data:
   *   {from: 'bot', seq, text, buttons: [{title, payload}], cards: [...], lang,
   *    sender: {kind: 'bot'} or {kind: 'worker', name}, notice: '' or 'worker_joined'/'worker_left'}
   *   {from: 'user', text, lang, unsent}  unsent: the message frame while it is not sent
   *   {from: 'divider'}                       a new conversation began
   * Notes (errors, location refused) are shown but not stored.
   * ------------------------------------------------------------------ */

  function renderTranscript() {
    ui.log.textContent = '';
    state.transcript.forEach(function (entry) {
      if (entry.notice === 'worker_joined') {
        retireAllReplies();
      }
      ui.log.appendChild(renderEntry(entry));
    });
    retireAnsweredReplies();
  }

  /**
   * Quick replies the person has answered (a message of theirs follows) can no longer
   * be pressed: a second press would answer a question the bot is not asking now.
   */
  function retireAllReplies() {
    Array.prototype.forEach.call(ui.log.querySelectorAll('.digituki-replies'), retireReplies);
  }

  function retireReplies(group) {
    group.classList.add('digituki-replies-used');
    Array.prototype.forEach.call(group.querySelectorAll('button'), function (b) {
      b.disabled = true;
    });
  }

  function retireAnsweredReplies() {
    var users = ui.log.querySelectorAll('.digituki-msg-user');
    if (!users.length) {
      return;
    }
    var last = users[users.length - 1];
    Array.prototype.forEach.call(ui.log.querySelectorAll('.digituki-replies'), function (group) {
      if (group.compareDocumentPosition(last) & Node.DOCUMENT_POSITION_FOLLOWING) {
        retireReplies(group);
      }
    });
  }

  function renderEntry(entry) {
    if (entry.from === 'bot') {
      return renderBot(entry);
    }
    if (entry.from === 'user') {
      return renderUser(entry);
    }
    return bind(el('p', 'digituki-divider'), 'newConversation');
  }

  function renderUser(entry) {
    var item = el('div', 'digituki-msg digituki-msg-user');
    var bubble = el('p', 'digituki-bubble');
    bubble.appendChild(srPrefix('youPrefix'));
    bubble.appendChild(document.createTextNode(str(entry.text)));
    item.appendChild(bubble);
    if (isObject(entry.unsent)) {
      item.classList.add('digituki-msg-unsent');
      item.appendChild(renderUnsentMark());
      ui.unsent[entry.unsent.id] = item;
    }
    return item;
  }

  /**
   * "Not sent" (in words, not only in colour) and "Try again". It comes into the live
   * log with the message, so it is announced once, with it.
   */
  function renderUnsentMark() {
    var mark = el('div', 'digituki-unsent');
    mark.appendChild(bind(el('span', 'digituki-unsent-text'), 'notSent'));
    var retry = bind(button('digituki-secondary digituki-retry', retryUnsent), 'retryUnsent', 'aria');
    retry.appendChild(bind(el('span'), 'retry'));
    mark.appendChild(retry);
    return mark;
  }

  /** The message `id` went out: its mark goes, on screen and in the stored transcript. */
  function markSent(id) {
    var item = ui.unsent[id];
    if (!item) {
      return;
    }
    delete ui.unsent[id];
    var mark = item.querySelector('.digituki-unsent');
    if (mark.contains(document.activeElement)) {
      ui.input.focus(); // the pressed "Try again" goes away
    }
    item.removeChild(mark);
    item.classList.remove('digituki-msg-unsent');
    state.transcript.forEach(function (entry) {
      if (isObject(entry.unsent) && entry.unsent.id === id) {
        delete entry.unsent;
      }
    });
    saveTranscript();
  }

  /**
   * A bot message; a support worker's is styled apart and headed by their name and
   * role ("Wilma · digitukija"), and the bot's notices that a worker joined or left
   * stand out from the conversation.
   */
  function renderBot(entry) {
    var worker = entry.sender && entry.sender.kind === 'worker' ? entry.sender.name : '';
    var kind = worker ? 'digituki-msg-worker' : entry.notice ? 'digituki-msg-notice' : '';
    var item = el('div', 'digituki-msg digituki-msg-bot' + (kind ? ' ' + kind : ''));
    if (LANGS.indexOf(entry.lang) !== -1) {
      item.lang = entry.lang;
    }
    var text = str(entry.text);
    var cards = list(entry.cards).filter(isObject).map(normalizeCard);
    if (worker) {
      var who = el('p', 'digituki-sender');
      who.appendChild(document.createTextNode(worker + ' · '));
      who.appendChild(bind(el('span'), 'workerRole'));
      item.appendChild(who);
    }
    if (text || !cards.length) {
      var bubble = el('p', 'digituki-bubble');
      if (worker) {
        var prefix = el('span', 'digituki-sr');
        prefix.textContent = worker + ': ';
        bubble.appendChild(prefix);
      } else {
        bubble.appendChild(srPrefix('botPrefix'));
      }
      appendLinkified(bubble, text);
      item.appendChild(bubble);
    }
    if (cards.length) {
      // A short line first for screen readers ("3 places: A, B, C."), then the cards
      // as a labelled list; each card's details wait behind its own disclosure.
      var names = cards.map(function (card) {
        return card.name;
      });
      var summary = tIn(entry.lang, cards.length === 1 ? 'cardsOne' : 'cardsMany', {
        n: cards.length,
        names: names.join(', ')
      });
      item.appendChild(el('p', 'digituki-sr', summary));
      var holder = el('ul', 'digituki-cards');
      holder.setAttribute('aria-label', summary);
      cards.forEach(function (card) {
        var li = el('li', 'digituki-card-item');
        li.appendChild(renderCard(card, entry.lang));
        holder.appendChild(li);
      });
      item.appendChild(holder);
    }
    var buttons = normalizeButtons(entry.buttons);
    if (buttons.length) {
      item.appendChild(renderReplies(buttons));
    }
    return item;
  }

  /**
   * Quick-reply buttons: send the payload, show the title as the person's message.
   * Once pressed they are disabled, and the focus goes to the message box (the
   * pressed button scrolls away with the answer).
   */
  function renderReplies(buttons) {
    var group = bind(el('div', 'digituki-replies'), 'replies', 'aria');
    group.setAttribute('role', 'group');
    buttons.forEach(function (b) {
      var btn = button('digituki-reply', function () {
        btn.classList.add('digituki-reply-chosen');
        sendUserMessage(b.title, b.payload);
        ui.input.focus();
      });
      btn.textContent = b.title;
      group.appendChild(btn);
    });
    return group;
  }

  /** One provider card (fields: actions/cards.py build_card). */
  function renderCard(card, lang) {
    var article = el('article', 'digituki-card');
    var headingId = 'digituki-card-' + (++state.cardCount);
    var heading = el('h3', 'digituki-card-name', card.name);
    heading.id = headingId;
    article.setAttribute('aria-labelledby', headingId);
    article.appendChild(heading);
    if (card.demo) {
      article.appendChild(fixedLabel(el('p', 'digituki-badge'), 'demo', lang));
    }
    article.appendChild(renderWhere(card, lang));
    appendHours(article, card, lang);
    var links = renderCardLinks(card, lang);
    if (links.childNodes.length) {
      article.appendChild(links);
    }
    // What it helps with, its forms and languages, the facts and the description.
    var more = el('details', 'digituki-card-more');
    var toggle = el('summary', 'digituki-card-more-toggle');
    toggle.appendChild(fixedLabel(el('span'), 'moreDetails', lang));
    more.appendChild(toggle);
    appendLabelled(more, 'helpsWith', card.helps_with.join(', '), lang);
    appendLabelled(more, 'forms', card.forms.join(', '), lang);
    appendLabelled(more, 'languages', card.languages.join(', '), lang);
    if (card.facts.length) {
      var ul = el('ul', 'digituki-facts');
      card.facts.forEach(function (fact) {
        ul.appendChild(el('li', 'digituki-fact', fact));
      });
      more.appendChild(ul);
    }
    if (card.description) {
      more.appendChild(el('p', 'digituki-card-desc', card.description));
    }
    if (more.childNodes.length > 1) {
      article.appendChild(more);
    }
    return article;
  }

  /** "Address – 3 km away", or "Remote support" when it has no address. */
  function renderWhere(card, lang) {
    var line = el('p', 'digituki-card-where');
    var distance = card.distance_text;
    if (!distance && typeof card.distance_km === 'number') {
      distance = tIn(lang, 'kmAway', { km: Math.round(card.distance_km) });
    }
    if (card.address) {
      line.appendChild(fixedLabel(el('span', 'digituki-sr'), 'address', lang));
      line.appendChild(document.createTextNode(' '));
      line.appendChild(document.createTextNode(card.address));
      if (distance) {
        line.appendChild(document.createTextNode(' – ' + distance));
      }
    } else if (card.kind === 'remote' || !distance) {
      line.appendChild(fixedLabel(el('span'), 'remote', lang));
    } else {
      line.appendChild(document.createTextNode(distance));
    }
    return line;
  }

  /** "<b>Label:</b> value" when value is not empty. */
  function appendLabelled(parent, key, value, lang) {
    if (!value) {
      return;
    }
    var p = el('p', 'digituki-card-row');
    var name = el('strong');
    name.appendChild(fixedLabel(el('span'), key, lang));
    name.appendChild(document.createTextNode(': '));
    p.appendChild(name);
    p.appendChild(document.createTextNode(value));
    parent.appendChild(p);
  }

  /**
   * Opening hours: whether it is open now and until when ("auki nyt, klo 16 asti",
   * in the conversation's language, from the server), then the week in words.
   */
  function appendHours(parent, card, lang) {
    if (!card.opening_hours && !card.hours_status && card.open_now === null) {
      return;
    }
    var p = el('p', 'digituki-card-row');
    var name = el('strong');
    name.appendChild(fixedLabel(el('span'), 'openingHours', lang));
    name.appendChild(document.createTextNode(': '));
    p.appendChild(name);
    if (card.open_now !== null) {
      var cls = 'digituki-pill ' + (card.open_now ? 'digituki-open-now' : 'digituki-closed-now');
      p.appendChild(
        card.hours_status
          ? el('span', cls, card.hours_status)
          : fixedLabel(el('span', cls), card.open_now ? 'openNow' : 'closedNow', lang)
      );
      p.appendChild(document.createTextNode(' '));
    }
    if (card.opening_hours) {
      p.appendChild(document.createTextNode(card.opening_hours));
    }
    parent.appendChild(p);
  }

  /** Phone (tel:), web page and map links; anything not http/https/tel stays text. */
  function renderCardLinks(card, lang) {
    var box = el('div', 'digituki-card-links');
    var tel = safeUrl(card.phone_link, ['tel:']);
    if (card.phone) {
      var phone = tel ? el('a', 'digituki-card-link') : el('span', 'digituki-card-text');
      if (tel) {
        phone.href = tel;
      }
      phone.appendChild(fixedLabel(el('span'), 'phone', lang));
      phone.appendChild(document.createTextNode(': ' + card.phone));
      box.appendChild(phone);
    }
    var web = safeUrl(card.website, ['http:', 'https:']);
    if (web) {
      var site = externalLink(web, 'digituki-card-link');
      site.appendChild(fixedLabel(el('span'), 'web', lang));
      site.appendChild(document.createTextNode(': ' + shortHost(web) + ' '));
      site.appendChild(fixedLabel(el('span', 'digituki-sr'), 'newTab', lang));
      box.appendChild(site);
    } else if (card.website) {
      var text = el('span', 'digituki-card-text');
      text.appendChild(fixedLabel(el('span'), 'web', lang));
      text.appendChild(document.createTextNode(': ' + card.website));
      box.appendChild(text);
    }
    var map = safeUrl(card.map_url, ['http:', 'https:']);
    if (map) {
      var mapLink = externalLink(map, 'digituki-card-link');
      mapLink.appendChild(fixedLabel(el('span'), 'map', lang));
      mapLink.appendChild(document.createTextNode(' '));
      mapLink.appendChild(fixedLabel(el('span', 'digituki-sr'), 'newTab', lang));
      box.appendChild(mapLink);
    }
    return box;
  }

  /** "https://www.kela.fi/x" → "kela.fi" for a link's visible text. */
  function shortHost(href) {
    return new URL(href).hostname.replace(/^www\./, '');
  }

  /** A note in the log (not stored): errors, location refused. */
  function showNote(text, isError) {
    var note = el('p', 'digituki-note' + (isError ? ' digituki-note-error' : ''), text);
    ui.log.appendChild(note);
    revealLatest(note);
  }

  /** Add an entry to the transcript, store it and show it. */
  function addEntry(entry) {
    state.transcript.push(entry);
    saveTranscript();
    if (entry.notice === 'worker_joined') {
      retireAllReplies();  // "Leave the queue" and the like: a person has the chat now
    }
    var node = renderEntry(entry);
    ui.log.appendChild(node);
    if (entry.from === 'user') {
      retireAnsweredReplies();
    }
    revealLatest(node);
  }

  /**
   * Scroll so the newest item is seen: its end when it fits, else its start
   * (a long answer with cards is read from the top).
   */
  function revealLatest(node) {
    var scroller = scrollContainer();
    if (!scroller) {
      return;
    }
    var top = node.getBoundingClientRect().top - scroller.getBoundingClientRect().top + scroller.scrollTop;
    var bottom = scroller.scrollHeight - scroller.clientHeight;
    scroller.scrollTop = Math.max(0, Math.min(bottom, top - 8));
  }

  /** The log scrolls, except on very short screens where the whole panel does. */
  function scrollContainer() {
    if (ui.panel.hidden) {
      return null;
    }
    var overflow = window.getComputedStyle(ui.log).overflowY;
    return overflow === 'auto' || overflow === 'scroll' ? ui.log : ui.panel;
  }

  function scrollToEnd() {
    var scroller = scrollContainer();
    if (scroller) {
      scroller.scrollTop = scroller.scrollHeight;
    }
  }

  /**
   * Show the status line `key` (a label; null clears it). A `brief` status
   * goes away by itself after a few seconds.
   */
  function setStatus(key, params, brief) {
    clearTimeout(state.statusTimer);
    state.status = key ? { key: key, params: params } : null;
    ui.status.textContent = key ? t(key, params) : '';
    if (key && brief) {
      state.statusTimer = setTimeout(function () {
        setStatus(null);
      }, 6000);
    }
  }

  /** After the connection changed: "reconnecting…" or nothing. */
  function showConnectionStatus() {
    setStatus(state.started && !state.ready ? 'reconnecting' : null);
  }

  function setTyping(on) {
    clearTimeout(state.typingTimer);
    ui.typing.hidden = !on;
    if (on) {
      state.typingTimer = setTimeout(function () {
        setTyping(false);
      }, TYPING_TIMEOUT_MS);
      scrollToEnd();
    }
  }

  /* ------------------------------------------------------------------ *
   * 7. Connection (docs/widget-protocol.md)
   * ------------------------------------------------------------------ */

  var WS_URL = websocketUrl();
  /** Asks the server whether it accepts this page's origin (the socket cannot say why it failed). */
  var ORIGIN_URL = WS_URL.replace(/^ws/, 'http').replace(/\/websocket$/, '/origin');
  /** A phone number the site owner gives for when the chat cannot be reached. */
  var HELP_PHONE = ((script && script.getAttribute('data-help-phone')) || '').slice(0, 40);
  var CHECK_ORIGIN_AFTER = 2; // failed connections in a row
  var UNAVAILABLE_AFTER = 5; // about half a minute of failed connections

  /** Open the socket unless one is open or opening; hello goes first. */
  function connect() {
    state.started = true;
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (state.refused) {
      return; // the server will not take this page: "Try again" or a reload after a fix
    }
    if (state.ws && state.ws.readyState <= 1) {
      return; // CONNECTING or OPEN
    }
    var ws;
    try {
      ws = new WebSocket(WS_URL);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    state.ready = false;
    var opened = false;
    ws.onopen = function () {
      opened = true;
      state.failedOpens = 0;
      sendRaw(ws, {
        type: 'hello',
        session_id: state.sessionId,
        last_seq: state.lastSeq,
        language: state.lang,
        page_url: location.href
      });
    };
    ws.onmessage = function (event) {
      if (state.ws === ws) {
        handleFrame(event.data);
      }
    };
    ws.onclose = function () {
      if (state.ws !== ws) {
        return;
      }
      state.ws = null;
      state.ready = false;
      setTyping(false);
      if (!opened) {
        state.failedOpens += 1;
        if (state.failedOpens === CHECK_ORIGIN_AFTER) {
          checkOrigin();
        }
        if (state.failedOpens === UNAVAILABLE_AFTER) {
          showUnavailable('unavailable');
        }
      }
      scheduleReconnect();
    };
    ws.onerror = function () {
      // A close event follows; reconnecting is handled there.
    };
  }

  /**
   * The socket failed to open twice: ask the server (an ordinary request it answers
   * with CORS) whether it refuses this page's origin. Then there is nothing to retry:
   * the person is told, and the site owner finds the reason in the browser console.
   */
  function checkOrigin() {
    if (!window.fetch) {
      return;
    }
    fetch(ORIGIN_URL, { mode: 'cors', credentials: 'omit' })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (body && body.allowed === false && !state.refused) {
          refuse();
        }
      })
      .catch(function () {
        // Unreachable: the backoff goes on and the person is told after a while.
      });
  }

  function refuse() {
    state.refused = true;
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (window.console && console.error) {
      console.error(
        'Digituki: the chat server refuses connections from this page\'s origin ' +
          location.origin + '. Add it to DIGITUKI_WIDGET_ORIGINS on the server.'
      );
    }
    disableForm(true);
    showUnavailable('refused');
  }

  /** The message box and Send: off while the server refuses this page. */
  function disableForm(disabled) {
    ui.input.disabled = disabled;
    Array.prototype.forEach.call(ui.panel.querySelectorAll('.digituki-send'), function (b) {
      b.disabled = disabled;
    });
  }

  /**
   * "Try again" on a message not sent: connect now, as the first time, also after the
   * widget gave up or the page was refused. What waits goes on welcome, with its ids.
   */
  function retryUnsent() {
    if (state.refused) {
      state.refused = false;
      disableForm(false);
    }
    state.attempts = 0;
    state.failedOpens = 0;
    setStatus('connecting');
    connect();
  }

  /** "The chat is not available…" and, when the site gives one, a number to call. */
  function showUnavailable(key) {
    setStatus(null);
    var text = t(key) + (HELP_PHONE ? ' ' + t('callInstead', { phone: HELP_PHONE }) : '');
    showNote(text, true);
  }

  /** Try again after 1 s, 2 s, 4 s … at most 30 s. */
  function scheduleReconnect() {
    if (state.refused) {
      return;
    }
    var delay = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, state.attempts));
    state.attempts += 1;
    if (state.failedOpens < UNAVAILABLE_AFTER) {
      setStatus('reconnecting');
    }
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = setTimeout(connect, delay);
  }

  /** Back online: do not wait for the backoff. */
  function onOnline() {
    if (state.started && !state.ws) {
      state.attempts = 0;
      connect();
    }
  }

  function sendRaw(ws, frame) {
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch (e) {
      return false;
    }
  }

  /** Send now when welcomed (true); otherwise keep it for the next welcome (false). */
  function sendFrame(frame) {
    if (state.ready && state.ws && state.ws.readyState === 1 && sendRaw(state.ws, frame)) {
      if (frame.id) {
        markSent(frame.id);
      }
      return true;
    }
    state.queue.push(frame);
    connect();
    return false;
  }

  function handleFrame(data) {
    var frame;
    try {
      frame = JSON.parse(data);
    } catch (e) {
      return; // not JSON: ignored
    }
    if (!isObject(frame)) {
      return;
    }
    switch (frame.type) {
      case 'welcome':
        onWelcome(frame);
        break;
      case 'message':
        onBotMessage(frame);
        break;
      case 'typing':
        setTyping(frame.on === true);
        break;
      case 'handled':
        forgetUnhandled(frame.id);
        break;
      case 'error':
        onError(frame);
        break;
      default:
        break; // unknown frames are ignored (forward compatibility)
    }
  }

  function onWelcome(frame) {
    var id = str(frame.session_id) || null;
    if (state.sessionId && id && id !== state.sessionId) {
      // The server did not know our conversation: a new one starts at seq 1.
      state.lastSeq = 0;
      save(KEY.lastSeq, 0);
      if (state.transcript.length) {
        addEntry({ from: 'divider' });
      }
    }
    state.sessionId = id;
    save(KEY.session, id);
    state.demo = frame.demo_data === true;
    save(KEY.demo, state.demo);
    ui.notice.hidden = !state.demo;
    if (typeof frame.max_text === 'number' && frame.max_text >= 1) {
      state.maxText = Math.min(MAX_TEXT, Math.floor(frame.max_text));
      ui.input.maxLength = state.maxText;
    }
    state.ready = true;
    state.attempts = 0;
    setStatus(null);
    flushQueue();
  }

  function flushQueue() {
    var waiting = state.queue;
    state.queue = [];
    // What went out before the connection broke, and may not have been handled, goes
    // again first, with the same id (the server handles each id once); then what was
    // written meanwhile, in order.
    state.unhandled.forEach(function (frame) {
      if (waiting.indexOf(frame) === -1) {
        sendFrame(frame);
      }
    });
    waiting.forEach(function (frame) {
      sendFrame(frame);
    });
  }

  /** An id for the person's message: random, so it is unique in the conversation. */
  function newMessageId() {
    var bytes = new Uint8Array(12);
    if (window.crypto && window.crypto.getRandomValues) {
      window.crypto.getRandomValues(bytes);
    } else {
      for (var i = 0; i < bytes.length; i++) {
        bytes[i] = Math.floor(Math.random() * 256);
      }
    }
    return Array.prototype.map
      .call(bytes, function (b) {
        return ('0' + b.toString(16)).slice(-2);
      })
      .join('');
  }

  function forgetUnhandled(id) {
    state.unhandled = state.unhandled.filter(function (frame) {
      return frame.id !== id;
    });
  }

  /** A bot message: show it once (by seq), store it, acknowledge it. */
  function onBotMessage(frame) {
    var seq = typeof frame.seq === 'number' ? frame.seq : null;
    if (seq !== null && seq <= state.lastSeq) {
      sendAck(state.lastSeq); // already shown: just confirm again
      return;
    }
    setTyping(false);
    addEntry(normalizeMessage(frame));
    if (seq !== null) {
      state.lastSeq = seq;
      save(KEY.lastSeq, seq);
      sendAck(seq);
    }
    if (!state.open) {
      ui.unread.hidden = false;
    }
  }

  function sendAck(seq) {
    if (state.ready && state.ws && state.ws.readyState === 1) {
      sendRaw(state.ws, { type: 'ack', seq: seq });
    }
  }

  /** Keep only known fields of the expected types (the renderer trusts these). */
  function normalizeMessage(frame) {
    return {
      from: 'bot',
      seq: typeof frame.seq === 'number' ? frame.seq : null,
      text: str(frame.text),
      buttons: normalizeButtons(frame.buttons),
      cards: list(frame.cards).filter(isObject).map(normalizeCard),
      sender: normalizeSender(frame.sender),
      notice: NOTICES.indexOf(frame.notice) !== -1 ? frame.notice : '',
      lang: LANGS.indexOf(frame.language) !== -1 ? frame.language : state.lang
    };
  }

  var NOTICES = ['worker_joined', 'worker_left'];

  /** Who wrote a message: the bot, or a support worker with their name. */
  function normalizeSender(sender) {
    if (isObject(sender) && sender.kind === 'worker' && str(sender.name)) {
      return { kind: 'worker', name: str(sender.name).slice(0, 80) };
    }
    return { kind: 'bot' };
  }

  /** Buttons with a title and a payload the server will accept. */
  function normalizeButtons(buttons) {
    return list(buttons).filter(isObject).map(function (b) {
      var title = str(b.title) || str(b.payload);
      return { title: title, payload: str(b.payload) || title };
    }).filter(function (b) {
      return b.title && b.payload.length <= MAX_TEXT;
    });
  }

  function normalizeCard(c) {
    var strings = function (value) {
      return list(value).filter(function (x) {
        return typeof x === 'string' && x;
      });
    };
    return {
      id: str(c.id),
      name: str(c.name),
      kind: str(c.kind),
      helps_with: strings(c.helps_with),
      forms: strings(c.forms),
      languages: strings(c.languages),
      description: str(c.description),
      address: str(c.address),
      distance_km: typeof c.distance_km === 'number' ? c.distance_km : null,
      distance_text: str(c.distance_text),
      opening_hours: str(c.opening_hours),
      hours_status: str(c.hours_status),
      open_now: typeof c.open_now === 'boolean' ? c.open_now : null,
      facts: strings(c.facts),
      phone: str(c.phone),
      phone_link: str(c.phone_link),
      website: str(c.website),
      map_url: str(c.map_url),
      demo: c.demo === true
    };
  }

  /** An error frame as a short note in the current language, never raw. */
  function onError(frame) {
    var known = [
      'bad_frame', 'too_large', 'rate_limited', 'no_session', 'unavailable', 'too_many_sessions'
    ];
    if (typeof frame.id === 'string') {
      forgetUnhandled(frame.id); // refused or not handled: the person decides to send again
    }
    var code = known.indexOf(frame.code) !== -1 ? frame.code : 'other';
    if (code === 'too_many_sessions') {
      // The server closes the connection next: try again after the longest backoff (30 s).
      state.attempts = Math.max(state.attempts, 5);
    }
    setTyping(false);
    showNote(t('err_' + code), true);
  }

  /* ------------------------------------------------------------------ *
   * 8. Actions
   * ------------------------------------------------------------------ */

  /** Show `shown` as the person's message and send `text` (payload or words). */
  function sendUserMessage(shown, text, metadata) {
    if (state.refused) {
      return; // nothing would reach anyone: the note says so
    }
    var frame = { type: 'message', text: text, id: newMessageId() };
    if (metadata) {
      frame.metadata = metadata;
    }
    state.unhandled.push(frame);
    var entry = { from: 'user', text: shown, lang: state.lang };
    if (!sendFrame(frame)) {
      entry.unsent = frame; // marked "not sent" until it goes; kept over page loads
    }
    addEntry(entry);
  }

  function submitInput() {
    var text = ui.input.value.trim();
    if (!text || state.refused) {
      return;
    }
    if (text.length > state.maxText) {
      showNote(t('tooLong'), true);
      return;
    }
    ui.input.value = '';
    fitInput();
    sendUserMessage(text, text);
  }

  /** The box grows with what is typed (up to its max-height) and shrinks when sent. */
  function fitInput() {
    ui.input.style.height = '';
    if (ui.input.value && ui.input.scrollHeight > ui.input.clientHeight) {
      ui.input.style.height = ui.input.scrollHeight + 4 + 'px';
    }
  }

  /** Enter sends; Shift+Enter makes a new line; not while composing (IME). */
  function onInputKeydown(event) {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      submitInput();
    }
  }

  function requestHuman() {
    sendUserMessage(t('human'), '/request_human');
  }

  /** Switch every label now and tell the bot. */
  function changeLanguage(code) {
    if (LANGS.indexOf(code) === -1 || code === state.lang) {
      return;
    }
    state.lang = code;
    save(KEY.lang, code);
    ui.root.lang = code;
    relabel();
    updateLanguageButtons();
    sendUserMessage(LANGUAGE_NAMES[code], '/change_language{"language": "' + code + '"}');
  }

  /** Update every bound label; the log is muted meanwhile so it is not read out again. */
  function relabel() {
    ui.log.setAttribute('aria-live', 'off');
    var nodes = ui.root.querySelectorAll(
      '[data-digituki-text], [data-digituki-aria], [data-digituki-placeholder]'
    );
    for (var i = 0; i < nodes.length; i++) {
      applyLabel(nodes[i]);
    }
    updateTextSizeButtons();
    if (state.status) {
      ui.status.textContent = t(state.status.key, state.status.params);
    }
    setTimeout(function () {
      ui.log.setAttribute('aria-live', 'polite');
    }, 500);
  }

  function updateLanguageButtons() {
    LANGS.forEach(function (code) {
      ui.langButtons[code].setAttribute('aria-pressed', code === state.lang ? 'true' : 'false');
    });
  }

  /** Ask the browser for the position only now; nothing is sent if refused. */
  function useLocation() {
    if (state.locating) {
      return;
    }
    if (!navigator.geolocation) {
      showNote(t('locationFailed'), false);
      return;
    }
    state.locating = true;
    ui.locationButton.setAttribute('aria-busy', 'true');
    setStatus('locating');
    navigator.geolocation.getCurrentPosition(function (position) {
      locatingDone();
      var where = {
        lat: roundCoordinate(position.coords.latitude),
        lon: roundCoordinate(position.coords.longitude)
      };
      sendUserMessage(t('myLocation'), '/inform', { location: where });
    }, function () {
      locatingDone();
      showNote(t('locationFailed'), false);
    }, { enableHighAccuracy: false, timeout: 20000, maximumAge: 300000 });
  }

  function locatingDone() {
    state.locating = false;
    ui.locationButton.removeAttribute('aria-busy');
    showConnectionStatus();
  }

  /** About 100 m: enough to find the nearest help, no more exact than needed. */
  function roundCoordinate(value) {
    return Math.round(value * 1000) / 1000;
  }

  function showConfirm() {
    ui.confirm.hidden = false;
    ui.confirmQuestion.focus();
  }

  function hideConfirm(returnFocus) {
    ui.confirm.hidden = true;
    if (returnFocus) {
      ui.clearButton.focus();
    }
  }

  /** Forget this conversation here and on the server; the server greets anew. */
  function clearConversation() {
    hideConfirm(false);
    state.transcript = [];
    state.lastSeq = 0;
    state.queue = [];
    state.unhandled = [];
    saveTranscript();
    save(KEY.lastSeq, 0);
    ui.log.textContent = '';
    setTyping(false);
    sendFrame({ type: 'restart', language: state.lang });
    if (state.ready) {
      setStatus('cleared', null, true);
    }
    ui.input.focus();
  }

  function changeTextSize(step) {
    var next = state.scaleIndex + step;
    if (!TEXT_SCALES[next]) {
      return; // at the smallest or largest size
    }
    state.scaleIndex = next;
    save(KEY.textSize, next);
    applyTextScale();
    setStatus('textSizeNow', { n: next + 1, max: TEXT_SCALES.length }, true);
  }

  function applyTextScale() {
    ui.root.style.setProperty('--digituki-scale', String(TEXT_SCALES[state.scaleIndex]));
    // Large text: a one-line box (it grows while typing) leaves the messages more room.
    ui.input.rows = TEXT_SCALES[state.scaleIndex] >= 1.5 ? 1 : 2;
    updateTextSizeButtons();
    if (state.open) {
      scrollToEnd();
    }
  }

  /** aria-disabled (not disabled) so the focused button keeps its focus. */
  function updateTextSizeButtons() {
    if (!ui.smaller) {
      return;
    }
    ui.smaller.setAttribute('aria-disabled', state.scaleIndex === 0 ? 'true' : 'false');
    ui.larger.setAttribute('aria-disabled', state.scaleIndex === TEXT_SCALES.length - 1 ? 'true' : 'false');
  }

  /* ------------------------------------------------------------------ *
   * 9. Open / close
   * ------------------------------------------------------------------ */

  function togglePanel() {
    if (state.open) {
      closePanel(true);
    } else {
      openPanel(true);
    }
  }

  function openPanel(moveFocus) {
    state.open = true;
    save(KEY.open, true);
    ui.panel.hidden = false;
    ui.root.classList.add('digituki-is-open');
    ui.launcher.setAttribute('aria-expanded', 'true');
    ui.unread.hidden = true;
    if (!state.ws) {
      if (!state.started) {
        setStatus('connecting');
      }
      connect();
    }
    scrollToEnd();
    if (moveFocus) {
      ui.input.focus();
    }
  }

  function closePanel(returnFocus) {
    state.open = false;
    save(KEY.open, false);
    hideConfirm(false);
    ui.panel.hidden = true;
    ui.root.classList.remove('digituki-is-open');
    ui.launcher.setAttribute('aria-expanded', 'false');
    if (returnFocus) {
      ui.launcher.focus();
    }
  }

  /** Escape: cancel the clear question if open, else close the panel. */
  function onRootKeydown(event) {
    if (event.key !== 'Escape' || !state.open) {
      return;
    }
    event.preventDefault();
    if (!ui.confirm.hidden) {
      hideConfirm(true);
    } else {
      closePanel(true);
    }
  }

  /* ------------------------------------------------------------------ *
   * 10. Start
   * ------------------------------------------------------------------ */

  function start() {
    restoreState();
    addStylesheet();
    document.body.appendChild(buildRoot());
    renderTranscript(); // the history is on screen before any connection
    window.addEventListener('online', onOnline);
    if (state.open) {
      openPanel(false); // it was open before this page load
    } else if (state.queue.length) {
      connect(); // messages not sent before this page load
    }
  }

  window.DigitukiWidget = Object.freeze({
    version: '1',
    open: function () {
      openPanel(true);
    },
    close: function () {
      closePanel(false);
    },
    setLanguage: changeLanguage
  });

  if (document.body) {
    start();
  } else {
    document.addEventListener('DOMContentLoaded', start);
  }
})();
