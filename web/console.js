/*
 * Digituki console of digital support workers — plain scripts: no build step, no
 * dependencies. Served with console.html and console.css at /console; runs on the
 * staff pages' shared script (/staff/common.js: texts, the API, logging in and
 * out, the language) and is in two parts: this one, and my chats with the chat
 * actions in /staff/console-chats.js. The page names all three, this one last.
 *
 * A worker logs in, sees the people waiting for a human (oldest first, with
 * their language, need, place and wait time), claims one, chats with the
 * conversation so far above, keeps notes, and hands the chat back to the bot or
 * closes it with an outcome. Everything it knows comes from the handoff API
 * (/api/v1, bot/web/handoff_api.py) and the console socket
 * (/api/v1/console/socket): `queue` frames replace the queue and the list of my
 * chats, `message` frames add one message to a chat.
 *
 * Structure of this file (one IIFE, nothing leaks):
 *   1. configuration and labels   the console's texts in fi / sv / en
 *   2. state and helpers          data is only ever set as text; localStorage (sound)
 *   3. the second part            my chats and chat actions (console-chats.js), connected
 *   4. logging in and out         what the console does when the session starts and ends
 *   5. the queue                  rendering, wait times, the new-request notice
 *   6. live updates               the socket, reconnecting with backoff, polling meanwhile
 *   7. header controls            availability, sound, language
 *   8. start
 *
 * Security: text from people and the server is put on the page only with
 * textContent / createTextNode. No innerHTML, no eval, no inline handlers.
 */
(function (staff) {
  'use strict';

  /* ------------------------------------------------------------------ *
   * 1. Configuration and labels
   * ------------------------------------------------------------------ */

  var LANGS = staff.LANGS;
  var SOCKET_PATH = '/api/v1/console/socket';
  var POLL_MS = 10000; // while the socket is down
  var WAIT_TICK_MS = 15000; // wait times are rewritten this often
  var NEW_HIGHLIGHT_MS = 60000; // a new request stays highlighted this long
  var MAX_BACKOFF_MS = 30000;
  var SOUND_KEY = 'digituki.console.sound'; // localStorage: remembered on this computer

  staff.addLabels({
    fi: {
      brandSub: 'Tukihenkilön työnäkymä',
      loginHeading: 'Kirjaudu digituen työnäkymään',
      available: 'Vapaana chatteihin',
      sound: 'Ääni',
      reports: 'Raportit',
      consoleHeading: 'Digituen työnäkymä',
      queueHeading: 'Jono',
      queueCount: '({n} odottaa)',
      queueEmpty: 'Kukaan ei odota juuri nyt.',
      claim: 'Ota hoitoon',
      newBadge: 'Uusi',
      newRequest: 'Uusi pyyntö jonossa: {what}',
      waitLess: 'odottanut alle minuutin',
      waitMin: 'odottanut {m} min',
      waitHours: 'odottanut {h} h {m} min',
      kind_chat: 'Chat',
      kind_callback: 'Soittopyyntö',
      channel_widget: 'verkkosivun chat',
      channel_facebook: 'Messenger',
      channel_messenger: 'Messenger',
      channel_rest: 'REST-rajapinta',
      noTopic: 'tarve ei vielä tiedossa',
      placeUnknown: 'paikka ei tiedossa',
      placeCode: 'kunta {code}',
      mineHeading: 'Omat chatit',
      mineEmpty: 'Ei avoimia chatteja. Ota pyyntö jonosta.',
      unread: 'uusi viesti',
      place: 'Paikka',
      channel: 'Kanava',
      kind: 'Tyyppi',
      reason: 'Syy',
      waited: 'Odotti',
      claimedAt: 'Otettu hoitoon',
      summary: 'Tiivistelmä',
      contact: 'Yhteystieto',
      reason_asked: 'pyysi ihmistä',
      reason_fallback: 'botti ei ymmärtänyt',
      reason_stuck: 'keskustelu jumittui',
      contact_phone: 'puhelin',
      contact_email: 'sähköposti',
      noContact: 'yhteystietoa ei annettu',
      callbackNote: 'Soittopyyntö: ota yhteyttä puhelimitse tai sähköpostilla.',
      transcript: 'Keskustelu',
      loadingTranscript: 'Ladataan keskustelua…',
      transcriptEmpty: 'Ei vielä viestejä.',
      transcriptFailed: 'Keskustelua ei saatu ladattua. Yritetään uudelleen automaattisesti.',
      who_user: 'Asiakas',
      who_bot: 'Digituki-botti',
      who_me: 'Sinä',
      who_worker: 'Tukihenkilö {name}',
      messageLabel: 'Viesti asiakkaalle',
      messageHint: 'Enter lähettää. Vaihto+Enter tekee rivinvaihdon.',
      send: 'Lähetä',
      notesLabel: 'Muistiinpanot (vain henkilökunnalle)',
      saveNotes: 'Tallenna muistiinpanot',
      notesSaved: 'Muistiinpanot tallennettu.',
      notesLocal: 'Muistiinpanot pidetään tässä ja tallennetaan, kun suljet chatin.',
      notesFailed: 'Muistiinpanoja ei saatu tallennettua. Yritä uudelleen.',
      endHeading: 'Chatin lopetus',
      handBack: 'Palauta botille',
      handedBack: 'Chat palautettiin botille: {what}.',
      handBackRasa: 'Chat palautettiin, mutta botti ei vastannut. Asiakas voi joutua kirjoittamaan uudelleen.',
      outcome: 'Lopputulos',
      chooseOutcome: 'Valitse…',
      outcome_helped: 'Autettu',
      outcome_referred: 'Ohjattu muualle',
      outcome_callback: 'Soitetaan takaisin',
      outcome_no_answer: 'Ei vastausta',
      outcome_other: 'Muu',
      closeChat: 'Sulje chat',
      confirmClose: 'Suljetaanko chat lopputuloksella ”{outcome}”?',
      confirmYes: 'Kyllä, sulje',
      confirmNo: 'Peruuta',
      closed: 'Chat suljettiin: {what}.',
      chatEnded: 'Chat ei ole enää sinulla: {what}.',
      reconnecting: 'Reaaliaikainen yhteys puuttuu. Yhdistetään uudelleen… Jono päivittyy 10 sekunnin välein.',
      err_choose_outcome: 'Valitse ensin lopputulos.',
      err_taken: 'Toinen tukihenkilö ehti ottaa tämän pyynnön.',
      err_at_capacity: 'Sinulla on jo niin monta chattia kuin voit hoitaa. Sulje tai palauta yksi ensin.',
      err_nothing_to_claim: 'Tämä pyyntö ei ole enää jonossa.',
      err_claim_rasa: 'Chat on nyt sinun, mutta bottia ei saatu tauolle: se voi vielä vastata asiakkaalle.',
      err_send_rasa: 'Viestiä ei toimitettu: chat-palvelu ei vastannut. Teksti on tallessa – yritä uudelleen.',
      err_send_network: 'Viestiä ei toimitettu: palvelimeen ei saatu yhteyttä. Teksti on tallessa – yritä uudelleen.',
      err_not_yours: 'Tämä chat ei ole enää sinulla.',
      err_empty: 'Kirjoita ensin viesti.',
      err_too_long: 'Viesti on liian pitkä (enintään {max} merkkiä).'
    },
    sv: {
      brandSub: 'Stödpersonens arbetsvy',
      loginHeading: 'Logga in i digistödets arbetsvy',
      available: 'Ledig för chattar',
      sound: 'Ljud',
      reports: 'Rapporter',
      consoleHeading: 'Digistödets arbetsvy',
      queueHeading: 'Kö',
      queueCount: '({n} väntar)',
      queueEmpty: 'Ingen väntar just nu.',
      claim: 'Ta emot',
      newBadge: 'Ny',
      newRequest: 'Ny begäran i kön: {what}',
      waitLess: 'väntat under en minut',
      waitMin: 'väntat {m} min',
      waitHours: 'väntat {h} h {m} min',
      kind_chat: 'Chatt',
      kind_callback: 'Begäran om uppringning',
      channel_widget: 'webbchatt',
      channel_facebook: 'Messenger',
      channel_messenger: 'Messenger',
      channel_rest: 'REST-gränssnitt',
      noTopic: 'behovet är ännu inte känt',
      placeUnknown: 'platsen är inte känd',
      placeCode: 'kommun {code}',
      mineHeading: 'Mina chattar',
      mineEmpty: 'Inga öppna chattar. Ta emot en begäran från kön.',
      unread: 'nytt meddelande',
      place: 'Plats',
      channel: 'Kanal',
      kind: 'Typ',
      reason: 'Orsak',
      waited: 'Väntade',
      claimedAt: 'Mottagen',
      summary: 'Sammanfattning',
      contact: 'Kontakt',
      reason_asked: 'bad om en människa',
      reason_fallback: 'botten förstod inte',
      reason_stuck: 'samtalet körde fast',
      contact_phone: 'telefon',
      contact_email: 'e-post',
      noContact: 'ingen kontaktuppgift',
      callbackNote: 'Begäran om uppringning: kontakta personen per telefon eller e-post.',
      transcript: 'Samtal',
      loadingTranscript: 'Samtalet laddas…',
      transcriptEmpty: 'Inga meddelanden ännu.',
      transcriptFailed: 'Samtalet kunde inte laddas. Ett nytt försök görs automatiskt.',
      who_user: 'Personen',
      who_bot: 'Digituki-botten',
      who_me: 'Du',
      who_worker: 'Stödperson {name}',
      messageLabel: 'Meddelande till personen',
      messageHint: 'Enter skickar. Skift+Enter ger en ny rad.',
      send: 'Skicka',
      notesLabel: 'Anteckningar (bara för personalen)',
      saveNotes: 'Spara anteckningar',
      notesSaved: 'Anteckningarna sparades.',
      notesLocal: 'Anteckningarna hålls här och sparas när du stänger chatten.',
      notesFailed: 'Anteckningarna kunde inte sparas. Försök igen.',
      endHeading: 'Avsluta chatten',
      handBack: 'Lämna tillbaka till botten',
      handedBack: 'Chatten lämnades tillbaka till botten: {what}.',
      handBackRasa: 'Chatten lämnades tillbaka, men botten svarade inte. Personen kan behöva skriva igen.',
      outcome: 'Resultat',
      chooseOutcome: 'Välj…',
      outcome_helped: 'Fick hjälp',
      outcome_referred: 'Hänvisad vidare',
      outcome_callback: 'Ringer tillbaka',
      outcome_no_answer: 'Inget svar',
      outcome_other: 'Annat',
      closeChat: 'Stäng chatten',
      confirmClose: 'Stänga chatten med resultatet ”{outcome}”?',
      confirmYes: 'Ja, stäng',
      confirmNo: 'Avbryt',
      closed: 'Chatten stängdes: {what}.',
      chatEnded: 'Chatten är inte längre din: {what}.',
      reconnecting: 'Ingen direktanslutning. Ansluter igen… Kön uppdateras var tionde sekund.',
      err_choose_outcome: 'Välj ett resultat först.',
      err_taken: 'En annan stödperson hann ta den här begäran.',
      err_at_capacity: 'Du har redan så många chattar du kan ta. Stäng eller lämna tillbaka en först.',
      err_nothing_to_claim: 'Den här begäran väntar inte längre.',
      err_claim_rasa: 'Chatten är din, men botten kunde inte pausas och kan ännu svara personen.',
      err_send_rasa: 'Inte levererat: chattjänsten svarade inte. Texten finns kvar – försök igen.',
      err_send_network: 'Inte levererat: servern kunde inte nås. Texten finns kvar – försök igen.',
      err_not_yours: 'Den här chatten är inte längre din.',
      err_empty: 'Skriv ett meddelande först.',
      err_too_long: 'Meddelandet är för långt (högst {max} tecken).'
    },
    en: {
      brandSub: 'Support worker console',
      loginHeading: 'Log in to the support console',
      available: 'Available for chats',
      sound: 'Sound',
      reports: 'Reports',
      consoleHeading: 'Support console',
      queueHeading: 'Queue',
      queueCount: '({n} waiting)',
      queueEmpty: 'No one is waiting right now.',
      claim: 'Claim',
      newBadge: 'New',
      newRequest: 'New request waiting: {what}',
      waitLess: 'waiting less than a minute',
      waitMin: 'waiting {m} min',
      waitHours: 'waiting {h} h {m} min',
      kind_chat: 'Chat',
      kind_callback: 'Call-back request',
      channel_widget: 'web chat',
      channel_facebook: 'Messenger',
      channel_messenger: 'Messenger',
      channel_rest: 'REST API',
      noTopic: 'need not known yet',
      placeUnknown: 'place not known',
      placeCode: 'municipality {code}',
      mineHeading: 'My chats',
      mineEmpty: 'No open chats. Claim a request from the queue.',
      unread: 'new message',
      place: 'Place',
      channel: 'Channel',
      kind: 'Type',
      reason: 'Reason',
      waited: 'Waited',
      claimedAt: 'Claimed',
      summary: 'Summary',
      contact: 'Contact',
      reason_asked: 'asked for a person',
      reason_fallback: 'the bot did not understand',
      reason_stuck: 'the conversation got stuck',
      contact_phone: 'phone',
      contact_email: 'email',
      noContact: 'no contact given',
      callbackNote: 'Call-back request: contact the person by phone or email.',
      transcript: 'Conversation',
      loadingTranscript: 'Loading the conversation…',
      transcriptEmpty: 'No messages yet.',
      transcriptFailed: 'The conversation could not be loaded. It is retried automatically.',
      who_user: 'Person',
      who_bot: 'Digituki bot',
      who_me: 'You',
      who_worker: 'Worker {name}',
      messageLabel: 'Message to the person',
      messageHint: 'Enter sends. Shift+Enter makes a new line.',
      send: 'Send',
      notesLabel: 'Notes (seen only by staff)',
      saveNotes: 'Save notes',
      notesSaved: 'Notes saved.',
      notesLocal: 'Notes are kept here and saved when you close the chat.',
      notesFailed: 'The notes could not be saved. Try again.',
      endHeading: 'End the chat',
      handBack: 'Hand back to the bot',
      handedBack: 'The chat was handed back to the bot: {what}.',
      handBackRasa: 'The chat was handed back, but the bot did not answer. The person may need to write again.',
      outcome: 'Outcome',
      chooseOutcome: 'Choose…',
      outcome_helped: 'Helped',
      outcome_referred: 'Referred elsewhere',
      outcome_callback: 'Will call back',
      outcome_no_answer: 'No answer',
      outcome_other: 'Other',
      closeChat: 'Close chat',
      confirmClose: 'Close this chat with the outcome “{outcome}”?',
      confirmYes: 'Yes, close',
      confirmNo: 'Cancel',
      closed: 'The chat was closed: {what}.',
      chatEnded: 'This chat is no longer yours: {what}.',
      reconnecting: 'Live updates are not connected. Reconnecting… The queue is refreshed every 10 seconds.',
      err_choose_outcome: 'Choose an outcome first.',
      err_taken: 'Another worker took this request already.',
      err_at_capacity: 'You have as many chats as you can take. Close or hand back one first.',
      err_nothing_to_claim: 'This request is no longer waiting.',
      err_claim_rasa: 'The chat is yours, but the bot could not be paused and may still answer the person.',
      err_send_rasa: 'Not delivered: the chat service did not answer. Your text is kept — try again.',
      err_send_network: 'Not delivered: the server could not be reached. Your text is kept — try again.',
      err_not_yours: 'This chat is no longer yours.',
      err_empty: 'Write a message first.',
      err_too_long: 'The message is too long (at most {max} characters).'
    }
  });

  /* ------------------------------------------------------------------ *
   * 2. State and helpers
   * ------------------------------------------------------------------ */

  var state = staff.state; // lang, agent, csrf: kept by the shared script
  state.sound = true;
  state.waiting = []; // requests in the queue, oldest first
  state.knownWaiting = {}; // id -> true: requests already seen (no notice for them again)
  state.queueLoaded = false; // the first queue after login gives no notice
  state.newSince = {}; // id -> time it arrived: highlighted for a while
  state.ws = null;
  state.socketOpen = false;
  state.attempts = 0;
  state.reconnectTimer = null;
  state.pollTimer = null;
  state.audio = null; // AudioContext, made after the first interaction
  state.interacted = false;

  // What this file uses of the shared script, as an import would name it.
  var ui = staff.ui, t = staff.t, el = staff.el, isObject = staff.isObject, str = staff.str,
    list = staff.list, announce = staff.announce, authed = staff.authed,
    errorText = staff.errorText;

  /** Visually hidden text for screen readers. */
  function srText(text) {
    return el('span', 'sr', text);
  }

  /** Show an error or warning in a role="alert" paragraph; '' clears it. */
  function showError(node, text) {
    node.textContent = text || '';
  }

  /* ------------------------------------------------------------------ *
   * 3. The second part: my chats and chat actions (console-chats.js)
   * ------------------------------------------------------------------ */

  var chats = staff.parts.consoleChats({
    normalizeRequest: normalizeRequest,
    requestTitle: requestTitle,
    placeText: placeText,
    channelText: channelText,
    keepFocus: keepFocus,
    showError: showError
  });

  /* ------------------------------------------------------------------ *
   * 4. Logging in and out
   * ------------------------------------------------------------------ */

  /** Logged in: the queue, my chats and the live updates. */
  function loggedIn(moveFocus) {
    state.queueLoaded = false;
    state.knownWaiting = {};
    state.newSince = {};
    state.waiting = [];
    state.chats = [];
    renderAccount();
    renderQueue();
    chats.renderChatList();
    chats.renderChat();
    loadQueue();
    chats.restoreChats();
    connectSocket();
    if (moveFocus) {
      ui.queueHeading.focus();
    }
  }

  /** The session is gone (logged out, expired, logged out elsewhere): no more live updates. */
  function loggedOut() {
    stopLive();
    setConnectionStatus(false);
    updateTitle();
  }

  function renderAccount() {
    ui.agentName.textContent = state.agent ? state.agent.display_name : '';
    ui.reportsLink.hidden = !state.agent || staff.OVERSEERS.indexOf(state.agent.role) === -1;
    ui.availability.setAttribute('aria-checked', state.agent && state.agent.available ? 'true' : 'false');
  }

  /* ------------------------------------------------------------------ *
   * 5. The queue
   * ------------------------------------------------------------------ */

  /** Keep only known fields of the expected types (the renderer trusts these). */
  function normalizeRequest(r) {
    var contact = isObject(r.contact) ? { method: str(r.contact.method), value: str(r.contact.value) } : null;
    return {
      id: str(r.id),
      kind: r.kind === 'callback' ? 'callback' : 'chat',
      channel: str(r.channel),
      language: LANGS.indexOf(r.language) !== -1 ? r.language : 'fi',
      topics: list(r.topics).filter(function (x) {
        return typeof x === 'string' && x;
      }),
      municipality_code: str(r.municipality_code),
      municipality: str(r.municipality),
      municipality_sv: str(r.municipality_sv),
      summary: str(r.summary),
      reason: str(r.reason),
      state: str(r.state),
      created_at: str(r.created_at),
      claimed_by: r.claimed_by === undefined ? null : r.claimed_by,
      claimed_at: str(r.claimed_at),
      notes: str(r.notes),
      contact: contact && contact.value ? contact : null,
      // Seconds waited when this copy arrived; older servers send only created_at.
      waitBase: typeof r.wait_seconds === 'number' ? r.wait_seconds : null,
      receivedAt: Date.now()
    };
  }

  /** An ISO 8601 time from Python (space or T, microseconds, maybe no zone) in ms. */
  function parseTime(text) {
    if (!text) {
      return NaN;
    }
    var iso = text.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1');
    if (!/(Z|[+-]\d\d:?\d\d)$/.test(iso)) {
      iso += 'Z'; // the database keeps UTC
    }
    return Date.parse(iso);
  }

  function waitSeconds(request) {
    if (request.waitBase !== null) {
      return request.waitBase + (Date.now() - request.receivedAt) / 1000;
    }
    var created = parseTime(request.created_at);
    return isNaN(created) ? 0 : Math.max(0, (Date.now() - created) / 1000);
  }

  function waitText(request) {
    var minutes = Math.floor(waitSeconds(request) / 60);
    if (minutes < 1) {
      return t('waitLess');
    }
    if (minutes < 60) {
      return t('waitMin', { m: minutes });
    }
    return t('waitHours', { h: Math.floor(minutes / 60), m: minutes % 60 });
  }

  function needText(request) {
    return request.topics.length ? request.topics.map(staff.topicName).join(', ') : t('noTopic');
  }

  function placeText(request) {
    if (state.lang === 'sv' && request.municipality_sv) {
      return request.municipality_sv;
    }
    if (request.municipality) {
      return request.municipality;
    }
    return request.municipality_code ? t('placeCode', { code: request.municipality_code }) : t('placeUnknown');
  }

  function channelText(request) {
    var key = 'channel_' + request.channel;
    var text = t(key);
    return text === key ? request.channel : text;
  }

  /** "Swedish · Kela, identification": what a request is about, in one line. */
  function requestTitle(request) {
    return t('lang_' + request.language) + ' · ' + needText(request);
  }

  /** A new queue from the server: render it, and notice what was not there before. */
  function applyQueue(waiting) {
    var fresh = list(waiting).filter(isObject).map(normalizeRequest).filter(function (r) {
      return r.id;
    });
    var arrived = [];
    fresh.forEach(function (r) {
      if (!state.knownWaiting[r.id]) {
        state.knownWaiting[r.id] = true;
        if (state.queueLoaded) {
          arrived.push(r);
          state.newSince[r.id] = Date.now();
        }
      }
    });
    state.waiting = fresh;
    state.queueLoaded = true;
    renderQueue();
    if (arrived.length) {
      noticeNewRequests(arrived);
    }
  }

  function loadQueue() {
    return authed('GET', '/handoff/queue').then(function (result) {
      if (result.ok && isObject(result.data)) {
        applyQueue(result.data.waiting);
      }
      return result;
    });
  }

  function renderQueue() {
    var now = Date.now();
    ui.queueEmpty.hidden = state.waiting.length > 0;
    ui.queueCount.textContent = state.waiting.length ? t('queueCount', { n: state.waiting.length }) : '';
    keepFocus(ui.queueList, '.claim', ui.queueHeading, function () {
      ui.queueList.textContent = '';
      state.waiting.forEach(function (request) {
        ui.queueList.appendChild(buildRequestItem(request, now));
      });
    });
    updateTitle();
  }

  /**
   * Rebuild a list without losing the keyboard user's place: focus goes back to
   * the same request's control (`selector`), or to `fallback` if it is gone.
   */
  function keepFocus(container, selector, fallback, rebuild) {
    var active = document.activeElement;
    var holder = container.contains(active) ? active.closest('[data-request-id]') : null;
    var id = holder ? holder.getAttribute('data-request-id') : null;
    rebuild();
    if (!holder) {
      return;
    }
    var again = null;
    var items = container.querySelectorAll('[data-request-id]');
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute('data-request-id') === id) {
        again = items[i].matches(selector) ? items[i] : items[i].querySelector(selector);
        break;
      }
    }
    (again || fallback).focus();
  }

  function isNew(request, now) {
    var since = state.newSince[request.id];
    return since !== undefined && now - since < NEW_HIGHLIGHT_MS;
  }

  function buildRequestItem(request, now) {
    var item = el('li', 'request' + (isNew(request, now) ? ' is-new' : ''));
    item.setAttribute('data-request-id', request.id);
    var heading = el('h3', 'request-title');
    if (isNew(request, now)) {
      heading.appendChild(el('span', 'badge badge-new', t('newBadge')));
      heading.appendChild(document.createTextNode(' '));
    }
    heading.appendChild(el('span', 'request-lang', t('lang_' + request.language)));
    heading.appendChild(document.createTextNode(' · ' + needText(request)));
    item.appendChild(heading);

    var facts = el('p', 'request-facts');
    facts.appendChild(el('span', 'fact fact-place', placeText(request)));
    facts.appendChild(el('span', 'fact fact-kind' + (request.kind === 'callback' ? ' is-callback' : ''), t('kind_' + request.kind)));
    facts.appendChild(el('span', 'fact fact-channel', channelText(request)));
    item.appendChild(facts);

    if (request.summary) {
      var summary = el('p', 'request-summary', request.summary);
      summary.lang = request.language; // the person's own words
      item.appendChild(summary);
    }
    var footer = el('div', 'request-footer');
    footer.appendChild(el('p', 'request-wait', waitText(request)));
    var claim = el('button', 'btn claim');
    claim.type = 'button';
    claim.appendChild(document.createTextNode(t('claim')));
    claim.appendChild(srText(': ' + requestTitle(request) + ', ' + placeText(request)));
    claim.addEventListener('click', function () {
      claimRequest(request, claim);
    });
    footer.appendChild(claim);
    item.appendChild(footer);
    return item;
  }

  /** Every 15 s: the wait times, and the end of "new" highlights. */
  function tick() {
    if (!state.agent) {
      return;
    }
    var now = Date.now();
    var items = ui.queueList.children;
    var changed = false;
    for (var i = 0; i < items.length; i++) {
      var request = findWaiting(items[i].getAttribute('data-request-id'));
      if (!request) {
        continue;
      }
      var wait = items[i].querySelector('.request-wait');
      if (wait) {
        wait.textContent = waitText(request);
      }
      if (items[i].classList.contains('is-new') && !isNew(request, now)) {
        changed = true;
      }
    }
    if (changed) {
      renderQueue();
    }
  }

  function findWaiting(id) {
    for (var i = 0; i < state.waiting.length; i++) {
      if (state.waiting[i].id === id) {
        return state.waiting[i];
      }
    }
    return null;
  }

  /** "(2) Digituki" while people wait. */
  function updateTitle() {
    var count = state.agent ? state.waiting.length : 0;
    document.title = count ? '(' + count + ') Digituki' : 'Digituki';
  }

  function noticeNewRequests(arrived) {
    announce(t('newRequest', { what: arrived.map(requestTitle).join('; ') }));
    beep();
  }

  /** The first interaction allows sound (browsers block audio before it). */
  function onFirstInteraction() {
    state.interacted = true;
    if (!state.audio) {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (Context) {
        try {
          state.audio = new Context();
        } catch (e) {
          state.audio = null;
        }
      }
    }
    if (state.audio && state.audio.state === 'suspended') {
      state.audio.resume();
    }
  }

  /** Two short soft tones, made with the Web Audio API (no sound files). */
  function beep() {
    if (!state.sound || !state.interacted || !state.audio) {
      return;
    }
    try {
      var start = state.audio.currentTime + 0.02;
      [660, 880].forEach(function (frequency, index) {
        var at = start + index * 0.18;
        var tone = state.audio.createOscillator();
        var gain = state.audio.createGain();
        tone.type = 'sine';
        tone.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.15);
        tone.connect(gain);
        gain.connect(state.audio.destination);
        tone.start(at);
        tone.stop(at + 0.16);
      });
    } catch (e) {
      // No sound this time; the title and the highlight still tell.
    }
  }

  function claimRequest(request, button) {
    if (button.getAttribute('aria-disabled') === 'true') {
      return;
    }
    button.setAttribute('aria-disabled', 'true');
    showError(ui.queueError, '');
    authed('POST', '/handoff/requests/' + encodeURIComponent(request.id) + '/claim').then(function (result) {
      button.removeAttribute('aria-disabled');
      if (result.ok && isObject(result.data)) {
        removeFromQueue(request.id);
        chats.openClaimedChat(normalizeRequest(result.data), '');
      } else if (result.code === 'rasa_unavailable') {
        // Claimed in the queue, but the bot was not paused: the chat is ours anyway.
        removeFromQueue(request.id);
        request.state = 'active';
        chats.openClaimedChat(request, t('err_claim_rasa'));
      } else if (state.agent) {
        showError(ui.queueError, errorText(result.code));
        if (result.code === 'taken' || result.code === 'nothing_to_claim') {
          removeFromQueue(request.id);
        }
        loadQueue();
      }
    });
  }

  function removeFromQueue(id) {
    state.waiting = state.waiting.filter(function (r) {
      return r.id !== id;
    });
    renderQueue();
  }

  /* ------------------------------------------------------------------ *
   * 6. Live updates
   * ------------------------------------------------------------------ */

  function socketUrl() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + SOCKET_PATH;
  }

  function connectSocket() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (!state.agent || (state.ws && state.ws.readyState <= 1)) {
      return;
    }
    var ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (e) {
      socketDown();
      return;
    }
    state.ws = ws;
    ws.onopen = function () {
      if (state.ws !== ws) {
        return;
      }
      state.socketOpen = true;
      state.attempts = 0;
      stopPolling();
      setConnectionStatus(false);
      // What happened while we were away: the open chat's transcript, merged.
      chats.reloadOpenChat();
    };
    ws.onmessage = function (event) {
      if (state.ws === ws) {
        onFrame(event.data);
      }
    };
    ws.onclose = function () {
      if (state.ws !== ws) {
        return;
      }
      state.ws = null;
      state.socketOpen = false;
      socketDown();
    };
    ws.onerror = function () {
      // A close event follows; reconnecting is handled there.
    };
  }

  /** The socket is gone: say so, poll meanwhile, and retry after 1, 2, 4 … 30 s. */
  function socketDown() {
    if (!state.agent) {
      return;
    }
    setConnectionStatus(true);
    startPolling();
    var delay = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, state.attempts));
    state.attempts += 1;
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = setTimeout(connectSocket, delay);
  }

  function onFrame(data) {
    var frame;
    try {
      frame = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (!isObject(frame)) {
      return;
    }
    if (frame.type === 'queue') {
      applyQueue(frame.waiting);
      if (Array.isArray(frame.active)) {
        chats.applyActive(frame.active);
      }
    } else if (frame.type === 'message') {
      chats.onSocketMessage(frame);
    }
  }

  function startPolling() {
    if (state.pollTimer) {
      return;
    }
    state.pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    clearInterval(state.pollTimer);
    state.pollTimer = null;
  }

  /** Without the socket: the queue, my chats and the open chat's transcript. */
  function poll() {
    if (!state.agent) {
      return;
    }
    loadQueue();
    if (!state.mineMissing) {
      authed('GET', '/handoff/mine').then(function (result) {
        if (result.ok && isObject(result.data)) {
          chats.applyActive(result.data.active);
        }
      });
    }
    chats.reloadOpenChat();
  }

  function stopLive() {
    stopPolling();
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    var ws = state.ws;
    state.ws = null;
    state.socketOpen = false;
    state.attempts = 0;
    if (ws) {
      try {
        ws.close();
      } catch (e) {
        // Already closing.
      }
    }
  }

  function setConnectionStatus(down) {
    ui.connection.setAttribute('data-down', down ? 'true' : 'false');
    ui.connection.textContent = down && state.agent ? t('reconnecting') : '';
  }

  /* ------------------------------------------------------------------ *
   * 7. Header controls
   * ------------------------------------------------------------------ */

  function toggleAvailability() {
    if (!state.agent || ui.availability.getAttribute('aria-disabled') === 'true') {
      return;
    }
    var wanted = !state.agent.available;
    ui.availability.setAttribute('aria-disabled', 'true');
    authed('PUT', '/me/availability', { available: wanted }).then(function (result) {
      ui.availability.removeAttribute('aria-disabled');
      if (result.ok && state.agent) {
        state.agent.available = isObject(result.data) ? result.data.available === true : wanted;
        renderAccount();
      } else if (state.agent) {
        showError(ui.queueError, errorText(result.code));
      }
    });
  }

  function toggleSound() {
    state.sound = !state.sound;
    staff.save('localStorage', SOUND_KEY, state.sound);
    ui.sound.setAttribute('aria-pressed', state.sound ? 'true' : 'false');
    if (state.sound) {
      onFirstInteraction();
      beep(); // the worker hears what it will sound like
    }
  }

  /** The queue and the chats in the current language. */
  function relabel() {
    if (state.agent) {
      setConnectionStatus(!state.socketOpen);
      renderQueue();
      chats.relabel();
    }
  }

  /* ------------------------------------------------------------------ *
   * 8. Start
   * ------------------------------------------------------------------ */

  /** Before the first texts: the link to the reports and the sound setting. */
  function init() {
    // The report page (/reports), for coordinators and administrators only: see renderAccount.
    ui.reportsLink = el('a', 'btn btn-bar');
    ui.reportsLink.href = '/reports';
    ui.reportsLink.setAttribute('data-label', 'reports');
    ui.reportsLink.hidden = true;
    ui.account.insertBefore(ui.reportsLink, ui.logout);
    state.sound = staff.load('localStorage', SOUND_KEY, true) !== false;
    ui.sound.setAttribute('aria-pressed', state.sound ? 'true' : 'false');
  }

  function listen() {
    ui.availability.addEventListener('click', toggleAvailability);
    ui.sound.addEventListener('click', toggleSound);
    chats.listen();
    document.addEventListener('pointerdown', onFirstInteraction, true);
    document.addEventListener('keydown', onFirstInteraction, true);
    window.addEventListener('online', function () {
      if (state.agent && !state.ws) {
        state.attempts = 0;
        connectSocket();
      }
    });
    setInterval(tick, WAIT_TICK_MS);
  }

  staff.start({
    view: 'workView',
    ids: [
      'availability', 'sound', 'connection', 'work-view', 'queue-heading', 'queue-count',
      'queue-error', 'queue-empty', 'queue-list', 'mine-heading', 'mine-empty', 'chat-list', 'chat',
      'chat-heading', 'chat-details', 'chat-warning', 'transcript', 'transcript-status',
      'message-form', 'message', 'send', 'message-error', 'notes', 'save-notes', 'notes-status',
      'hand-back', 'outcome', 'close-chat', 'confirm-close', 'confirm-question', 'confirm-yes',
      'confirm-no', 'end-error'
    ],
    topics: true,
    init: init,
    listen: listen,
    loggedIn: loggedIn,
    loggedOut: loggedOut,
    loggingOut: chats.forgetRemembered,
    relabel: relabel
  });
})(window.DigitukiStaff);
