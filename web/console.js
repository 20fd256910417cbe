/*
 * Digituki console of digital support workers — one plain script: no build
 * step, no dependencies. Served with console.html and console.css at /console.
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
 *   1. configuration and labels   every text in fi / sv / en, topic names
 *   2. storage                    sessionStorage (CSRF token, my chats), localStorage (language, sound)
 *   3. state and DOM helpers      data is only ever set as text
 *   4. the API                    fetch with the CSRF header; errors as codes
 *   5. logging in and out
 *   6. the queue                  rendering, wait times, the new-request notice
 *   7. my chats                   tabs, the open chat, the transcript merged by event id
 *   8. chat actions               send, notes, hand back, close
 *   9. live updates               the socket, reconnecting with backoff, polling meanwhile
 *  10. header controls            availability, sound, language
 *  11. start
 *
 * Security: text from people and the server is put on the page only with
 * textContent / createTextNode. No innerHTML, no eval, no inline handlers.
 * The CSRF token is kept in sessionStorage (the session cookie is HttpOnly).
 */
(function () {
  'use strict';

  /* ------------------------------------------------------------------ *
   * 1. Configuration and labels
   * ------------------------------------------------------------------ */

  var LANGS = ['fi', 'sv', 'en'];
  var API = '/api/v1';
  var SOCKET_PATH = '/api/v1/console/socket';
  var MAX_MESSAGE = 2000;
  var POLL_MS = 10000; // while the socket is down
  var WAIT_TICK_MS = 15000; // wait times are rewritten this often
  var NEW_HIGHLIGHT_MS = 60000; // a new request stays highlighted this long
  var MAX_BACKOFF_MS = 30000;
  var OUTCOMES = ['helped', 'referred', 'callback', 'no_answer', 'other'];

  /** Topic names as people read them (the same words as data/labels.yml). */
  var TOPIC_NAMES = {
    kela: ['Kela', 'FPA', 'Kela'],
    tax: ['verotus', 'beskattning', 'taxes'],
    health: ['terveyspalvelut', 'hälsotjänster', 'health services'],
    suomifi: ['Suomi.fi', 'Suomi.fi', 'Suomi.fi'],
    employment: ['työnhaku', 'jobbsökning', 'job seeking'],
    immigration: ['maahanmuuttoasiat', 'invandringsärenden', 'immigration matters'],
    police: ['poliisin palvelut', 'polisens tjänster', 'police services'],
    identification: ['tunnistautuminen', 'identifiering', 'identification'],
    email: ['sähköposti', 'e-post', 'email'],
    social_media: ['sosiaalinen media', 'sociala medier', 'social media'],
    video_call: ['videopuhelut', 'videosamtal', 'video calls'],
    streaming: ['Yle Areena ja suoratoisto', 'Yle Arenan och streaming', 'streaming'],
    banking: ['verkkopankki', 'nätbanken', 'online banking'],
    shopping: ['verkko-ostokset', 'nätköp', 'online shopping'],
    transport: ['matkaliput', 'resebiljetter', 'travel tickets'],
    security: ['tietoturva', 'datasäkerhet', 'online safety'],
    smartphone: ['älypuhelin', 'smarttelefon', 'smartphone'],
    tablet: ['tabletti', 'surfplatta', 'tablet'],
    computer: ['tietokone', 'dator', 'computer'],
    basics: ['digitaidot', 'digitala färdigheter', 'digital skills']
  };

  var LABELS = {
    fi: {
      skip: 'Siirry sisältöön',
      brandSub: 'Tukihenkilön työnäkymä',
      language: 'Kieli',
      loginHeading: 'Kirjaudu digituen työnäkymään',
      username: 'Käyttäjätunnus',
      password: 'Salasana',
      login: 'Kirjaudu',
      loginMissing: 'Kirjoita käyttäjätunnus ja salasana.',
      sessionEnded: 'Istunto on päättynyt. Kirjaudu uudelleen.',
      loggedOut: 'Olet kirjautunut ulos.',
      available: 'Vapaana chatteihin',
      sound: 'Ääni',
      logout: 'Kirjaudu ulos',
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
      err_bad_credentials: 'Väärä käyttäjätunnus tai salasana.',
      err_too_many_attempts: 'Liian monta yritystä. Odota minuutti ja yritä uudelleen.',
      err_too_many_attempts_wait: 'Liian monta yritystä. Yritä uudelleen {m} minuutin kuluttua.',
      err_network: 'Palvelimeen ei saatu yhteyttä. Tarkista yhteys ja yritä uudelleen.',
      err_other: 'Jokin meni vikaan. Yritä uudelleen.',
      err_taken: 'Toinen tukihenkilö ehti ottaa tämän pyynnön.',
      err_at_capacity: 'Sinulla on jo niin monta chattia kuin voit hoitaa. Sulje tai palauta yksi ensin.',
      err_nothing_to_claim: 'Tämä pyyntö ei ole enää jonossa.',
      err_claim_rasa: 'Chat on nyt sinun, mutta bottia ei saatu tauolle: se voi vielä vastata asiakkaalle.',
      err_send_rasa: 'Viestiä ei toimitettu: chat-palvelu ei vastannut. Teksti on tallessa – yritä uudelleen.',
      err_send_network: 'Viestiä ei toimitettu: palvelimeen ei saatu yhteyttä. Teksti on tallessa – yritä uudelleen.',
      err_not_yours: 'Tämä chat ei ole enää sinulla.',
      err_empty: 'Kirjoita ensin viesti.',
      err_too_long: 'Viesti on liian pitkä (enintään {max} merkkiä).',
      lang_fi: 'suomi',
      lang_sv: 'ruotsi',
      lang_en: 'englanti'
    },
    sv: {
      skip: 'Hoppa till innehållet',
      brandSub: 'Stödpersonens arbetsvy',
      language: 'Språk',
      loginHeading: 'Logga in i digistödets arbetsvy',
      username: 'Användarnamn',
      password: 'Lösenord',
      login: 'Logga in',
      loginMissing: 'Skriv användarnamn och lösenord.',
      sessionEnded: 'Sessionen har gått ut. Logga in igen.',
      loggedOut: 'Du har loggat ut.',
      available: 'Ledig för chattar',
      sound: 'Ljud',
      logout: 'Logga ut',
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
      err_bad_credentials: 'Fel användarnamn eller lösenord.',
      err_too_many_attempts: 'För många försök. Vänta en minut och försök igen.',
      err_too_many_attempts_wait: 'För många försök. Försök igen om {m} min.',
      err_network: 'Servern kunde inte nås. Kontrollera anslutningen och försök igen.',
      err_other: 'Något gick fel. Försök igen.',
      err_taken: 'En annan stödperson hann ta den här begäran.',
      err_at_capacity: 'Du har redan så många chattar du kan ta. Stäng eller lämna tillbaka en först.',
      err_nothing_to_claim: 'Den här begäran väntar inte längre.',
      err_claim_rasa: 'Chatten är din, men botten kunde inte pausas och kan ännu svara personen.',
      err_send_rasa: 'Inte levererat: chattjänsten svarade inte. Texten finns kvar – försök igen.',
      err_send_network: 'Inte levererat: servern kunde inte nås. Texten finns kvar – försök igen.',
      err_not_yours: 'Den här chatten är inte längre din.',
      err_empty: 'Skriv ett meddelande först.',
      err_too_long: 'Meddelandet är för långt (högst {max} tecken).',
      lang_fi: 'finska',
      lang_sv: 'svenska',
      lang_en: 'engelska'
    },
    en: {
      skip: 'Skip to content',
      brandSub: 'Support worker console',
      language: 'Language',
      loginHeading: 'Log in to the support console',
      username: 'Username',
      password: 'Password',
      login: 'Log in',
      loginMissing: 'Enter your username and password.',
      sessionEnded: 'Your session has ended. Please log in again.',
      loggedOut: 'You have logged out.',
      available: 'Available for chats',
      sound: 'Sound',
      logout: 'Log out',
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
      err_bad_credentials: 'Wrong username or password.',
      err_too_many_attempts: 'Too many attempts, wait a minute and try again.',
      err_too_many_attempts_wait: 'Too many attempts. Try again in {m} min.',
      err_network: 'The server could not be reached. Check the connection and try again.',
      err_other: 'Something went wrong. Try again.',
      err_taken: 'Another worker took this request already.',
      err_at_capacity: 'You have as many chats as you can take. Close or hand back one first.',
      err_nothing_to_claim: 'This request is no longer waiting.',
      err_claim_rasa: 'The chat is yours, but the bot could not be paused and may still answer the person.',
      err_send_rasa: 'Not delivered: the chat service did not answer. Your text is kept — try again.',
      err_send_network: 'Not delivered: the server could not be reached. Your text is kept — try again.',
      err_not_yours: 'This chat is no longer yours.',
      err_empty: 'Write a message first.',
      err_too_long: 'The message is too long (at most {max} characters).',
      lang_fi: 'Finnish',
      lang_sv: 'Swedish',
      lang_en: 'English'
    }
  };

  /** The label `key` in the current language, with {name} placeholders filled. */
  function t(key, params) {
    var text = LABELS[state.lang][key];
    if (text === undefined) {
      text = LABELS.en[key] !== undefined ? LABELS.en[key] : key;
    }
    if (params) {
      text = text.replace(/\{(\w+)\}/g, function (all, name) {
        return params[name] !== undefined ? String(params[name]) : all;
      });
    }
    return text;
  }

  /** A topic code as a word of the current language (unknown codes as they are). */
  function topicName(code) {
    var names = TOPIC_NAMES[code];
    return names ? names[LANGS.indexOf(state.lang)] : code;
  }

  /** The navigator's language if it is one of ours, else Finnish. */
  function browserLanguage() {
    var wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i] || '').toLowerCase().slice(0, 2);
      if (LANGS.indexOf(code) !== -1) {
        return code;
      }
    }
    return 'fi';
  }

  /* ------------------------------------------------------------------ *
   * 2. Storage
   * ------------------------------------------------------------------ */

  var KEY = {
    csrf: 'digituki.console.csrf', // sessionStorage: this tab only
    chats: 'digituki.console.chats', // sessionStorage: ids of my chats (until /handoff/mine exists)
    selected: 'digituki.console.selected', // sessionStorage
    lang: 'digituki.console.lang', // localStorage: remembered on this computer
    sound: 'digituki.console.sound' // localStorage
  };

  /** A stored JSON value, or `fallback` (storage may be disabled). */
  function load(store, key, fallback) {
    try {
      var raw = window[store].getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) {
      return fallback;
    }
  }

  /** Store a JSON value; null removes it. Never throws. */
  function save(store, key, value) {
    try {
      if (value === null || value === undefined) {
        window[store].removeItem(key);
      } else {
        window[store].setItem(key, JSON.stringify(value));
      }
    } catch (e) {
      // Disabled storage: the console still works until the page is reloaded.
    }
  }

  /* ------------------------------------------------------------------ *
   * 3. State and DOM helpers
   * ------------------------------------------------------------------ */

  var state = {
    lang: 'fi',
    sound: true,
    agent: null, // the logged-in account, null when logged out
    csrf: null,
    waiting: [], // requests in the queue, oldest first
    knownWaiting: {}, // id -> true: requests already seen (no notice for them again)
    queueLoaded: false, // the first queue after login gives no notice
    newSince: {}, // id -> time it arrived: highlighted for a while
    chats: [], // my active chats: {request, lines, draft, notes, savedNotes, unread, ...}
    selectedId: null,
    mineMissing: false, // GET /handoff/mine is not there (yet): chats are remembered here
    notesMissing: false, // PUT .../notes is not there (yet): notes go with close
    ws: null,
    socketOpen: false,
    attempts: 0,
    reconnectTimer: null,
    pollTimer: null,
    audio: null, // AudioContext, made after the first interaction
    interacted: false,
    localCounter: 0,
    quietTimer: null
  };

  var ui = {};

  function $(id) {
    return document.getElementById(id);
  }

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

  /** Visually hidden text for screen readers. */
  function srText(text) {
    return el('span', 'sr', text);
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

  /** Put the current language's texts on every [data-label] element of the page. */
  function relabelStatic() {
    var nodes = document.querySelectorAll('[data-label]');
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = t(nodes[i].getAttribute('data-label'));
    }
    nodes = document.querySelectorAll('[data-label-aria]');
    for (i = 0; i < nodes.length; i++) {
      nodes[i].setAttribute('aria-label', t(nodes[i].getAttribute('data-label-aria')));
    }
  }

  /** Say `text` to screen-reader users (a polite status region). */
  function announce(text) {
    ui.announcer.textContent = '';
    setTimeout(function () {
      ui.announcer.textContent = text;
    }, 50);
  }

  /** Show an error or warning in a role="alert" paragraph; '' clears it. */
  function showError(node, text) {
    node.textContent = text || '';
  }

  /* ------------------------------------------------------------------ *
   * 4. The API
   * ------------------------------------------------------------------ */

  /**
   * Call the API; resolves (never rejects) to {ok, status, data, code}. `code`
   * is the API's error code, 'network' when there was no answer, and 'missing'
   * when the endpoint does not exist on this server (a plain 404 or 405).
   */
  function call(method, path, body) {
    var headers = { Accept: 'application/json' };
    var options = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    if (method !== 'GET' && state.csrf) {
      headers['X-CSRF-Token'] = state.csrf;
    }
    return fetch(API + path, options).then(function (response) {
      return response.text().then(function (raw) {
        var data = null;
        try {
          data = raw ? JSON.parse(raw) : null;
        } catch (e) {
          data = null;
        }
        var result = { ok: response.ok, status: response.status, data: data, code: null };
        result.retryAfter = parseInt(response.headers.get('Retry-After') || '', 10) || null;
        if (!response.ok) {
          if (isObject(data) && typeof data.error === 'string') {
            result.code = data.error;
          } else {
            result.code = response.status === 404 || response.status === 405 ? 'missing' : 'other';
          }
        }
        return result;
      });
    }, function () {
      return { ok: false, status: 0, data: null, code: 'network' };
    });
  }

  /** `call` for a logged-in worker: a lost session or CSRF token leads back to the login form. */
  function authed(method, path, body) {
    return call(method, path, body).then(function (result) {
      if (state.agent && (result.status === 401 || result.code === 'csrf')) {
        sessionEnded();
      }
      return result;
    });
  }

  /** The error code as a sentence of the current language. */
  function errorText(code) {
    var text = t('err_' + code);
    return text === 'err_' + code ? t('err_other') : text;
  }

  /* ------------------------------------------------------------------ *
   * 5. Logging in and out
   * ------------------------------------------------------------------ */

  /** On page load: a session this tab already has, or the login form. */
  function resumeSession() {
    state.csrf = load('sessionStorage', KEY.csrf, null);
    call('GET', '/me').then(function (result) {
      var token = result.ok && isObject(result.data) ? str(result.data.csrf_token) : '';
      if (result.ok && isObject(result.data) && (token || state.csrf)) {
        state.csrf = token || state.csrf;
        save('sessionStorage', KEY.csrf, state.csrf);
        loggedIn(result.data, false);
      } else {
        // No session, or one whose CSRF token this tab cannot know: log in again.
        state.csrf = null;
        save('sessionStorage', KEY.csrf, null);
        showLogin('');
      }
    });
  }

  function onLoginSubmit(event) {
    event.preventDefault();
    var username = ui.username.value.trim();
    var password = ui.password.value;
    if (!username || !password) {
      loginFailed(t('loginMissing'), !username ? ui.username : ui.password);
      return;
    }
    if (ui.loginButton.getAttribute('aria-disabled') === 'true') {
      return;
    }
    ui.loginButton.setAttribute('aria-disabled', 'true');
    call('POST', '/auth/login', { username: username, password: password }).then(function (result) {
      ui.loginButton.removeAttribute('aria-disabled');
      if (result.ok && isObject(result.data) && isObject(result.data.agent)) {
        state.csrf = str(result.data.csrf_token);
        save('sessionStorage', KEY.csrf, state.csrf);
        ui.password.value = '';
        loggedIn(result.data.agent, true);
      } else if (result.code === 'too_many_attempts' && result.retryAfter) {
        loginFailed(t('err_too_many_attempts_wait', { m: Math.ceil(result.retryAfter / 60) }), ui.password);
      } else {
        loginFailed(errorText(result.code), ui.password);
      }
    });
  }

  function loginFailed(text, focus) {
    // Emptied first, so that the same error twice is read out twice.
    showError(ui.loginError, '');
    setTimeout(function () {
      showError(ui.loginError, text);
    }, 50);
    ui.username.setAttribute('aria-invalid', ui.username.value.trim() ? 'false' : 'true');
    ui.password.setAttribute('aria-invalid', 'true');
    ui.password.value = '';
    focus.focus();
  }

  function showLogin(message) {
    state.agent = null;
    ui.account.hidden = true;
    ui.workView.hidden = true;
    ui.loginView.hidden = false;
    ui.username.removeAttribute('aria-invalid');
    ui.password.removeAttribute('aria-invalid');
    showError(ui.loginError, message);
    setConnectionStatus(false);
    updateTitle();
    ui.username.focus();
  }

  function loggedIn(agent, moveFocus) {
    state.agent = normalizeAgent(agent);
    state.queueLoaded = false;
    state.knownWaiting = {};
    state.newSince = {};
    state.waiting = [];
    state.chats = [];
    ui.loginView.hidden = true;
    ui.workView.hidden = false;
    ui.account.hidden = false;
    showError(ui.loginError, '');
    renderAccount();
    renderQueue();
    renderChatList();
    renderChat();
    loadQueue();
    restoreChats();
    connectSocket();
    if (moveFocus) {
      ui.queueHeading.focus();
    }
  }

  function normalizeAgent(agent) {
    return {
      id: agent.id,
      username: str(agent.username),
      display_name: str(agent.display_name) || str(agent.username),
      role: str(agent.role),
      capacity: typeof agent.capacity === 'number' ? agent.capacity : null,
      available: agent.available === true
    };
  }

  /** The server forgot the session (expired, logged out elsewhere). */
  function sessionEnded() {
    stopLive();
    state.csrf = null;
    save('sessionStorage', KEY.csrf, null);
    showLogin(t('sessionEnded'));
  }

  function logOut() {
    authed('POST', '/auth/logout').then(function () {
      stopLive();
      state.csrf = null;
      save('sessionStorage', KEY.csrf, null);
      save('sessionStorage', KEY.chats, null);
      save('sessionStorage', KEY.selected, null);
      showLogin('');
      announce(t('loggedOut'));
    });
  }

  function renderAccount() {
    ui.agentName.textContent = state.agent ? state.agent.display_name : '';
    ui.reportsLink.hidden = !state.agent || ['coordinator', 'admin'].indexOf(state.agent.role) === -1;
    ui.availability.setAttribute('aria-checked', state.agent && state.agent.available ? 'true' : 'false');
  }

  /* ------------------------------------------------------------------ *
   * 6. The queue
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
    return request.topics.length ? request.topics.map(topicName).join(', ') : t('noTopic');
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
        openClaimedChat(normalizeRequest(result.data), '');
      } else if (result.code === 'rasa_unavailable') {
        // Claimed in the queue, but the bot was not paused: the chat is ours anyway.
        removeFromQueue(request.id);
        request.state = 'active';
        openClaimedChat(request, t('err_claim_rasa'));
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
   * 7. My chats
   * ------------------------------------------------------------------ */

  function newChat(request) {
    return {
      request: request,
      lines: [], // {key, event_id, sender, text, timestamp, agent, local, node}
      loaded: false,
      loadFailed: false,
      draft: '',
      notes: request.notes,
      savedNotes: request.notes,
      unread: false,
      warning: ''
    };
  }

  function findChat(id) {
    for (var i = 0; i < state.chats.length; i++) {
      if (state.chats[i].request.id === id) {
        return state.chats[i];
      }
    }
    return null;
  }

  function selectedChat() {
    return findChat(state.selectedId);
  }

  function rememberChats() {
    save('sessionStorage', KEY.chats, state.chats.map(function (c) {
      return c.request.id;
    }));
    save('sessionStorage', KEY.selected, state.selectedId);
  }

  function openClaimedChat(request, warning) {
    var chat = findChat(request.id);
    if (!chat) {
      chat = newChat(request);
      state.chats.push(chat);
    }
    chat.warning = warning;
    selectChat(chat.request.id, false);
    ui.message.focus(); // after a claim the worker writes
    loadTranscript(chat);
  }

  /**
   * After login or a reload: my chats from GET /handoff/mine, or — where the
   * server does not have it yet — the ones this tab remembers, each checked
   * against its transcript's request.
   */
  function restoreChats() {
    authed('GET', '/handoff/mine').then(function (result) {
      if (!state.agent) {
        return;
      }
      if (result.ok && isObject(result.data)) {
        state.mineMissing = false;
        applyActive(result.data.active);
        selectRemembered();
        return;
      }
      if (result.code !== 'missing') {
        return;
      }
      state.mineMissing = true;
      list(load('sessionStorage', KEY.chats, [])).forEach(function (id) {
        if (typeof id !== 'string' || findChat(id)) {
          return;
        }
        authed('GET', '/handoff/requests/' + encodeURIComponent(id) + '/transcript').then(function (found) {
          var request = found.ok && isObject(found.data) && isObject(found.data.request) ? normalizeRequest(found.data.request) : null;
          if (!request || !state.agent || request.state !== 'active' || request.claimed_by !== state.agent.id || findChat(id)) {
            return;
          }
          var chat = newChat(request);
          state.chats.push(chat);
          mergeTranscript(chat, found.data.messages);
          selectRemembered();
        });
      });
    });
  }

  function selectRemembered() {
    var remembered = load('sessionStorage', KEY.selected, null);
    if (!selectedChat() && state.chats.length) {
      selectChat(findChat(remembered) ? remembered : state.chats[0].request.id, false);
    } else {
      renderChatList();
    }
  }

  /** My active chats from the server (socket or GET mine): add new ones, drop ended ones. */
  function applyActive(active) {
    var requests = list(active).filter(isObject).map(normalizeRequest).filter(function (r) {
      return r.id;
    });
    var ids = {};
    requests.forEach(function (request) {
      ids[request.id] = true;
      var chat = findChat(request.id);
      if (chat) {
        request.notes = chat.request.notes;
        chat.request = request;
      } else {
        chat = newChat(request);
        state.chats.push(chat);
        loadTranscript(chat);
      }
    });
    state.chats.slice().forEach(function (chat) {
      if (!ids[chat.request.id]) {
        confirmEnded(chat);
      }
    });
    renderChatList();
    if (!selectedChat() && state.chats.length) {
      selectChat(state.chats[0].request.id, false);
    }
  }

  /** A chat the server no longer lists: drop it only if its request says it has ended. */
  function confirmEnded(chat) {
    authed('GET', '/handoff/requests/' + encodeURIComponent(chat.request.id) + '/transcript').then(function (result) {
      var request = result.ok && isObject(result.data) && isObject(result.data.request) ? result.data.request : null;
      if (!state.agent) {
        return;
      }
      var gone = result.code === 'not_yours' || (request && (request.state !== 'active' || request.claimed_by !== state.agent.id));
      if (gone && findChat(chat.request.id)) {
        removeChat(chat, t('chatEnded', { what: requestTitle(chat.request) }));
      }
    });
  }

  function selectChat(id, moveFocus) {
    var current = selectedChat();
    if (current && current.request.id !== id) {
      current.draft = ui.message.value;
      current.notes = ui.notes.value;
    }
    state.selectedId = id;
    var chat = selectedChat();
    if (chat) {
      chat.unread = false;
    }
    rememberChats();
    renderChatList();
    renderChat();
    if (moveFocus && chat) {
      ui.chatHeading.focus();
    }
  }

  function renderChatList() {
    ui.mineEmpty.hidden = state.chats.length > 0;
    keepFocus(ui.chatList, '.chat-tab', ui.mineHeading, buildChatList);
  }

  function buildChatList() {
    ui.chatList.textContent = '';
    state.chats.forEach(function (chat) {
      var item = el('li');
      var button = el('button', 'chat-tab');
      button.type = 'button';
      button.setAttribute('data-request-id', chat.request.id);
      if (chat.request.id === state.selectedId) {
        button.setAttribute('aria-current', 'true');
      }
      button.appendChild(el('span', 'chat-tab-title', requestTitle(chat.request)));
      button.appendChild(el('span', 'chat-tab-place', placeText(chat.request)));
      if (chat.unread) {
        var mark = el('span', 'badge badge-unread', t('unread'));
        button.appendChild(mark);
      }
      button.addEventListener('click', function () {
        selectChat(chat.request.id, true);
      });
      item.appendChild(button);
      ui.chatList.appendChild(item);
    });
  }

  /** The chosen chat: heading, details, transcript, message box, notes, ending. */
  function renderChat() {
    var chat = selectedChat();
    ui.chat.hidden = !chat;
    hideConfirm(false);
    showError(ui.messageError, '');
    showError(ui.endError, '');
    ui.notesStatus.textContent = '';
    if (!chat) {
      return;
    }
    var request = chat.request;
    ui.chatHeading.textContent = requestTitle(request);
    renderDetails(chat);
    showError(ui.chatWarning, chat.warning);
    ui.message.value = chat.draft;
    ui.message.lang = request.language; // the worker writes in the person's language
    ui.notes.value = chat.notes;
    ui.outcome.value = '';
    quietly(function () {
      ui.transcript.textContent = '';
      chat.lines.forEach(function (line) {
        line.node = null;
      });
      renderTranscript(chat);
    });
    scrollToEnd();
  }

  /**
   * Change the log without it being read out: a whole transcript at once is
   * not news; only messages that arrive later are.
   */
  function quietly(change) {
    ui.transcript.setAttribute('aria-live', 'off');
    change();
    clearTimeout(state.quietTimer);
    state.quietTimer = setTimeout(function () {
      ui.transcript.setAttribute('aria-live', 'polite');
    }, 500);
  }

  function renderDetails(chat) {
    var request = chat.request;
    ui.chatDetails.textContent = '';
    var rows = [
      ['place', placeText(request)],
      ['kind', t('kind_' + request.kind)],
      ['channel', channelText(request)],
      ['reason', t('reason_' + request.reason) === 'reason_' + request.reason ? request.reason : t('reason_' + request.reason)]
    ];
    if (request.summary) {
      rows.push(['summary', request.summary]);
    }
    if (request.kind === 'callback') {
      rows.push(['contact', request.contact ? request.contact : t('noContact')]);
    }
    rows.forEach(function (row) {
      var group = el('div', 'detail');
      group.appendChild(el('dt', null, t(row[0])));
      var value = el('dd');
      if (row[0] === 'contact' && isObject(row[1])) {
        value.appendChild(contactNode(row[1]));
      } else {
        value.textContent = row[1];
        if (row[0] === 'summary') {
          value.lang = request.language;
        }
      }
      group.appendChild(value);
      ui.chatDetails.appendChild(group);
    });
  }

  /** A call-back contact: a tel: or mailto: link when the value looks like one, else text. */
  function contactNode(contact) {
    var wrapper = el('span');
    wrapper.appendChild(document.createTextNode(t('contact_' + contact.method) + ': '));
    var href = null;
    if (contact.method === 'phone' && /^\+?[0-9 ()-]{5,20}$/.test(contact.value)) {
      href = 'tel:' + contact.value.replace(/[^+0-9]/g, '');
    } else if (contact.method === 'email' && /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(contact.value)) {
      href = 'mailto:' + contact.value;
    }
    if (href) {
      var link = el('a', 'contact-link', contact.value);
      link.href = href;
      wrapper.appendChild(link);
    } else {
      wrapper.appendChild(document.createTextNode(contact.value));
    }
    return wrapper;
  }

  function loadTranscript(chat) {
    var id = chat.request.id;
    var firstLoad = !chat.loaded;
    if (chat === selectedChat() && !chat.loaded) {
      ui.transcriptStatus.textContent = t('loadingTranscript');
    }
    return authed('GET', '/handoff/requests/' + encodeURIComponent(id) + '/transcript').then(function (result) {
      if (!findChat(id)) {
        return;
      }
      if (result.ok && isObject(result.data)) {
        chat.loadFailed = false;
        if (isObject(result.data.request)) {
          var request = normalizeRequest(result.data.request);
          request.notes = chat.request.notes || request.notes;
          chat.request = request;
        }
        mergeTranscript(chat, result.data.messages);
      } else if (result.code === 'not_yours') {
        removeChat(chat, t('chatEnded', { what: requestTitle(chat.request) }));
        return;
      } else {
        chat.loadFailed = true;
      }
      if (chat === selectedChat()) {
        if (firstLoad) {
          quietly(function () {
            renderTranscript(chat);
          });
        } else {
          renderTranscript(chat);
        }
      }
    });
  }

  /** One message as the console keeps it; `key` tells copies of the same message apart. */
  function normalizeLine(m) {
    var sender = m.sender === 'user' || m.sender === 'bot' || m.sender === 'worker' ? m.sender : 'bot';
    var line = {
      event_id: typeof m.event_id === 'number' ? m.event_id : null,
      sender: sender,
      text: str(m.text),
      timestamp: typeof m.timestamp === 'number' ? m.timestamp : null,
      agent: str(m.agent) || null,
      local: false,
      node: null
    };
    // Without event ids (older servers), a message is known by who, when and what.
    line.key = line.event_id !== null ? 'e' + line.event_id : [sender, line.timestamp, line.text].join('|');
    return line;
  }

  /**
   * A transcript from the server, merged into what is shown: messages already
   * there keep their place (and their node), new ones are added in order, and
   * my own messages shown since sending are replaced by the server's copy.
   */
  function mergeTranscript(chat, messages) {
    var known = {};
    chat.lines.forEach(function (line) {
      if (!line.local) {
        known[line.key] = line;
      }
    });
    var fetched = list(messages).filter(isObject).map(normalizeLine);
    var merged = fetched.map(function (line) {
      return known[line.key] || line;
    });
    var inFetched = {};
    merged.forEach(function (line) {
      inFetched[line.key] = true;
    });
    // Socket messages newer than this transcript stay.
    chat.lines.forEach(function (line) {
      if (!line.local && !inFetched[line.key] && line.event_id !== null) {
        merged.push(line);
      }
    });
    merged.sort(byOrder);
    // My sent messages wait for the server's copy (matched by text, once each).
    chat.lines.forEach(function (line) {
      if (line.local && !claimCopy(merged, line)) {
        merged.push(line);
      }
    });
    chat.lines = merged;
    chat.loaded = true;
  }

  /** Whether `lines` has a worker message with the text of the local `mine` (it is then its copy). */
  function claimCopy(lines, mine) {
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      if (line.sender === 'worker' && !line.local && !line.matched && line.text === mine.text) {
        line.matched = true;
        line.node = line.node || mine.node; // the same bubble stays on screen
        if (line.node) {
          line.node.classList.remove('is-local');
        }
        return true;
      }
    }
    return false;
  }

  function byOrder(a, b) {
    if (a.event_id !== null && b.event_id !== null) {
      return a.event_id - b.event_id;
    }
    return (a.timestamp || 0) - (b.timestamp || 0);
  }

  /** A message frame from the socket: shown once, in its chat. */
  function onSocketMessage(frame) {
    var chat = findChat(str(frame.request_id));
    if (!chat) {
      return;
    }
    var line = normalizeLine(frame);
    for (var i = 0; i < chat.lines.length; i++) {
      if (!chat.lines[i].local && chat.lines[i].key === line.key) {
        return; // already shown
      }
    }
    var local = null;
    if (line.sender === 'worker') {
      for (i = 0; i < chat.lines.length; i++) {
        if (chat.lines[i].local && chat.lines[i].text === line.text) {
          local = chat.lines[i];
          break;
        }
      }
    }
    if (local) {
      line.matched = true;
      line.node = local.node;
      if (line.node) {
        line.node.classList.remove('is-local');
      }
      chat.lines[chat.lines.indexOf(local)] = line;
    } else {
      chat.lines.push(line);
    }
    if (chat === selectedChat()) {
      renderTranscript(chat);
    } else if (line.sender === 'user') {
      chat.unread = true;
      renderChatList();
      announce(t('unread') + ': ' + requestTitle(chat.request));
    }
  }

  /** Bring the log in line with `chat.lines`, touching only what changed. */
  function renderTranscript(chat) {
    var atEnd = isScrolledToEnd();
    var wanted = chat.lines.map(function (line) {
      if (!line.node) {
        line.node = buildLine(line, chat);
      }
      return line.node;
    });
    for (var i = 0; i < wanted.length; i++) {
      if (ui.transcript.children[i] !== wanted[i]) {
        ui.transcript.insertBefore(wanted[i], ui.transcript.children[i] || null);
      }
    }
    while (ui.transcript.children.length > wanted.length) {
      ui.transcript.removeChild(ui.transcript.lastChild);
    }
    if (chat.loadFailed) {
      ui.transcriptStatus.textContent = t('transcriptFailed');
    } else if (!chat.loaded) {
      ui.transcriptStatus.textContent = t('loadingTranscript');
    } else {
      ui.transcriptStatus.textContent = chat.lines.length ? '' : t('transcriptEmpty');
    }
    if (atEnd) {
      scrollToEnd();
    }
  }

  function whoLabel(line) {
    if (line.sender === 'user') {
      return t('who_user');
    }
    if (line.sender === 'bot') {
      return t('who_bot');
    }
    if (line.local || (state.agent && line.agent === state.agent.display_name)) {
      return t('who_me');
    }
    return t('who_worker', { name: line.agent || '' });
  }

  function buildLine(line, chat) {
    var node = el('div', 'msg msg-' + line.sender + (line.local ? ' is-local' : ''));
    var meta = el('p', 'msg-meta');
    meta.appendChild(el('span', 'msg-who', whoLabel(line)));
    if (line.timestamp) {
      var when = new Date(line.timestamp * 1000);
      var time = el('time', 'msg-time', formatTime(when));
      time.dateTime = when.toISOString();
      meta.appendChild(document.createTextNode(' '));
      meta.appendChild(time);
    }
    node.appendChild(meta);
    var text = el('p', 'msg-text', line.text);
    if (line.sender === 'user') {
      text.lang = chat.request.language; // the person's own words
    }
    node.appendChild(text);
    return node;
  }

  function formatTime(date) {
    try {
      return date.toLocaleTimeString(state.lang === 'en' ? 'en-GB' : state.lang + '-FI', { hour: '2-digit', minute: '2-digit' });
    } catch (e) {
      return date.toISOString().slice(11, 16);
    }
  }

  function isScrolledToEnd() {
    var log = ui.transcript;
    return log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  }

  function scrollToEnd() {
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
  }

  /** The chat is over here: out of the list; focus goes somewhere sensible. */
  function removeChat(chat, message) {
    var hadFocus = ui.chat.contains(document.activeElement);
    var index = state.chats.indexOf(chat);
    if (index === -1) {
      return;
    }
    state.chats.splice(index, 1);
    if (state.selectedId === chat.request.id) {
      var next = state.chats[index] || state.chats[index - 1] || null;
      state.selectedId = next ? next.request.id : null;
      renderChat();
    }
    rememberChats();
    renderChatList();
    if (message) {
      announce(message);
    }
    if (hadFocus) {
      if (selectedChat()) {
        ui.chatHeading.focus();
      } else {
        ui.queueHeading.focus();
      }
    }
  }

  /* ------------------------------------------------------------------ *
   * 8. Chat actions
   * ------------------------------------------------------------------ */

  function onMessageSubmit(event) {
    event.preventDefault();
    sendMessage();
  }

  /** Enter sends; Shift+Enter makes a new line; not while composing (IME). */
  function onMessageKeydown(event) {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      sendMessage();
    }
  }

  function sendMessage() {
    var chat = selectedChat();
    if (!chat || ui.send.getAttribute('aria-disabled') === 'true') {
      return;
    }
    var text = ui.message.value.trim();
    if (!text) {
      showError(ui.messageError, t('err_empty'));
      return;
    }
    if (text.length > MAX_MESSAGE) {
      showError(ui.messageError, t('err_too_long', { max: MAX_MESSAGE }));
      return;
    }
    showError(ui.messageError, '');
    ui.send.setAttribute('aria-disabled', 'true');
    ui.message.setAttribute('aria-busy', 'true');
    var sentAt = Date.now() / 1000;
    var path = '/handoff/requests/' + encodeURIComponent(chat.request.id) + '/messages';
    authed('POST', path, { text: text }).then(function (result) {
      ui.send.removeAttribute('aria-disabled');
      ui.message.removeAttribute('aria-busy');
      if (result.ok) {
        if (chat === selectedChat() && ui.message.value.trim() === text) {
          ui.message.value = '';
        }
        chat.draft = '';
        addLocalLine(chat, text, sentAt);
      } else if (result.code === 'not_yours') {
        showError(ui.messageError, t('err_not_yours'));
        loadTranscript(chat);
      } else if (result.code === 'network') {
        showError(ui.messageError, t('err_send_network'));
      } else if (state.agent) {
        // The text stays in the box: nothing was delivered.
        showError(ui.messageError, result.code === 'rasa_unavailable' ? t('err_send_rasa') : errorText(result.code));
      }
    });
  }

  /** My message, shown at once; the server's copy (socket or transcript) replaces it. */
  function addLocalLine(chat, text, sentAt) {
    for (var i = 0; i < chat.lines.length; i++) {
      var copy = chat.lines[i];
      if (copy.sender === 'worker' && !copy.local && !copy.matched && copy.text === text &&
          copy.timestamp !== null && copy.timestamp > sentAt - 60) {
        copy.matched = true; // the socket was quicker than the answer to the POST
        return;
      }
    }
    state.localCounter += 1;
    var line = {
      key: 'local' + state.localCounter,
      event_id: null,
      sender: 'worker',
      text: text,
      timestamp: Date.now() / 1000,
      agent: state.agent ? state.agent.display_name : null,
      local: true,
      node: null
    };
    chat.lines.push(line);
    if (chat === selectedChat()) {
      renderTranscript(chat);
      scrollToEnd();
    }
  }

  function saveNotes(fromButton) {
    var chat = selectedChat();
    if (!chat) {
      return;
    }
    var notes = ui.notes.value;
    chat.notes = notes;
    if (notes === chat.savedNotes && !fromButton) {
      return;
    }
    if (state.notesMissing) {
      ui.notesStatus.textContent = t('notesLocal');
      return;
    }
    var path = '/handoff/requests/' + encodeURIComponent(chat.request.id) + '/notes';
    authed('PUT', path, { notes: notes }).then(function (result) {
      var shown = chat === selectedChat();
      if (result.ok) {
        chat.savedNotes = notes;
        chat.request.notes = notes;
        if (shown) {
          ui.notesStatus.textContent = t('notesSaved');
        }
      } else if (result.code === 'missing') {
        state.notesMissing = true; // notes go with the close call instead
        if (shown) {
          ui.notesStatus.textContent = t('notesLocal');
        }
      } else if (shown && state.agent) {
        ui.notesStatus.textContent = t('notesFailed');
      }
    });
  }

  function handBack() {
    var chat = selectedChat();
    if (!chat || ui.handBack.getAttribute('aria-disabled') === 'true') {
      return;
    }
    chat.notes = ui.notes.value;
    if (chat.notes !== chat.savedNotes) {
      saveNotes(false);
    }
    showError(ui.endError, '');
    ui.handBack.setAttribute('aria-disabled', 'true');
    authed('POST', '/handoff/requests/' + encodeURIComponent(chat.request.id) + '/return').then(function (result) {
      ui.handBack.removeAttribute('aria-disabled');
      if (result.ok) {
        removeChat(chat, t('handedBack', { what: requestTitle(chat.request) }));
      } else if (result.code === 'rasa_unavailable') {
        removeChat(chat, t('handBackRasa')); // handed back in the queue all the same
        showError(ui.queueError, t('handBackRasa'));
      } else if (state.agent) {
        showError(ui.endError, errorText(result.code));
      }
    });
  }

  function askClose() {
    var outcome = ui.outcome.value;
    if (OUTCOMES.indexOf(outcome) === -1) {
      showError(ui.endError, t('err_choose_outcome'));
      ui.outcome.setAttribute('aria-invalid', 'true');
      ui.outcome.focus();
      return;
    }
    ui.outcome.removeAttribute('aria-invalid');
    showError(ui.endError, '');
    ui.confirmQuestion.textContent = t('confirmClose', { outcome: t('outcome_' + outcome) });
    ui.confirm.hidden = false;
    ui.confirmQuestion.focus();
  }

  function hideConfirm(returnFocus) {
    ui.confirm.hidden = true;
    if (returnFocus) {
      ui.closeChat.focus();
    }
  }

  function closeChat() {
    var chat = selectedChat();
    var outcome = ui.outcome.value;
    if (!chat || OUTCOMES.indexOf(outcome) === -1 || ui.confirmYes.getAttribute('aria-disabled') === 'true') {
      return;
    }
    chat.notes = ui.notes.value;
    var body = { outcome: outcome };
    if (chat.notes) {
      body.notes = chat.notes;
    }
    ui.confirmYes.setAttribute('aria-disabled', 'true');
    authed('POST', '/handoff/requests/' + encodeURIComponent(chat.request.id) + '/close', body).then(function (result) {
      ui.confirmYes.removeAttribute('aria-disabled');
      if (result.ok) {
        removeChat(chat, t('closed', { what: requestTitle(chat.request) }));
      } else if (state.agent) {
        hideConfirm(true);
        showError(ui.endError, errorText(result.code));
      }
    });
  }

  /** Escape cancels the close question. */
  function onChatKeydown(event) {
    if (event.key === 'Escape' && !ui.confirm.hidden) {
      event.preventDefault();
      hideConfirm(true);
    }
  }

  /* ------------------------------------------------------------------ *
   * 9. Live updates
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
      var chat = selectedChat();
      if (chat) {
        loadTranscript(chat);
      }
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
        applyActive(frame.active);
      }
    } else if (frame.type === 'message') {
      onSocketMessage(frame);
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
          applyActive(result.data.active);
        }
      });
    }
    var chat = selectedChat();
    if (chat) {
      loadTranscript(chat);
    }
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
   * 10. Header controls
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
    save('localStorage', KEY.sound, state.sound);
    ui.sound.setAttribute('aria-pressed', state.sound ? 'true' : 'false');
    if (state.sound) {
      onFirstInteraction();
      beep(); // the worker hears what it will sound like
    }
  }

  function changeLanguage(code) {
    if (LANGS.indexOf(code) === -1) {
      return;
    }
    state.lang = code;
    save('localStorage', KEY.lang, code);
    applyLanguage();
  }

  /** Every text in the current language; the queue and the chat are built again. */
  function applyLanguage() {
    document.documentElement.lang = state.lang;
    relabelStatic();
    var buttons = document.querySelectorAll('.lang');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute('aria-pressed', buttons[i].getAttribute('data-lang') === state.lang ? 'true' : 'false');
    }
    if (state.agent) {
      setConnectionStatus(!state.socketOpen);
      renderQueue();
      renderChatList();
      var chat = selectedChat();
      if (chat) {
        chat.draft = ui.message.value;
        chat.notes = ui.notes.value;
        var outcome = ui.outcome.value;
        renderChat();
        ui.outcome.value = outcome;
      }
    }
  }

  /* ------------------------------------------------------------------ *
   * 11. Start
   * ------------------------------------------------------------------ */

  function bindUi() {
    [
      'account', 'agent-name', 'availability', 'sound', 'logout', 'connection', 'login-view',
      'login-form', 'login-error', 'username', 'password', 'login-button', 'work-view',
      'queue-heading', 'queue-count', 'queue-error', 'queue-empty', 'queue-list',
      'mine-heading', 'mine-empty', 'chat-list', 'chat', 'chat-heading', 'chat-details', 'chat-warning',
      'transcript', 'transcript-status', 'message-form', 'message', 'send', 'message-error',
      'notes', 'save-notes', 'notes-status', 'hand-back', 'outcome', 'close-chat',
      'confirm-close', 'confirm-question', 'confirm-yes', 'confirm-no', 'end-error', 'announcer'
    ].forEach(function (id) {
      ui[id.replace(/-(\w)/g, function (all, c) {
        return c.toUpperCase();
      })] = $(id);
    });
    ui.confirm = ui.confirmClose;
    // The report page (/reports), for coordinators and administrators only: see renderAccount.
    ui.reportsLink = el('a', 'btn btn-bar');
    ui.reportsLink.href = '/reports';
    ui.reportsLink.setAttribute('data-label', 'reports');
    ui.reportsLink.hidden = true;
    ui.account.insertBefore(ui.reportsLink, ui.logout);
  }

  function listen() {
    ui.loginForm.addEventListener('submit', onLoginSubmit);
    ui.availability.addEventListener('click', toggleAvailability);
    ui.sound.addEventListener('click', toggleSound);
    ui.logout.addEventListener('click', logOut);
    var buttons = document.querySelectorAll('.lang');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener('click', function (event) {
        changeLanguage(event.currentTarget.getAttribute('data-lang'));
      });
    }
    ui.messageForm.addEventListener('submit', onMessageSubmit);
    ui.message.addEventListener('keydown', onMessageKeydown);
    ui.notes.addEventListener('blur', function () {
      saveNotes(false);
    });
    ui.saveNotes.addEventListener('click', function () {
      saveNotes(true);
    });
    ui.handBack.addEventListener('click', handBack);
    ui.outcome.addEventListener('change', function () {
      ui.outcome.removeAttribute('aria-invalid');
      showError(ui.endError, '');
    });
    ui.closeChat.addEventListener('click', askClose);
    ui.confirmYes.addEventListener('click', closeChat);
    ui.confirmNo.addEventListener('click', function () {
      hideConfirm(true);
    });
    ui.chat.addEventListener('keydown', onChatKeydown);
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

  function start() {
    bindUi();
    var lang = load('localStorage', KEY.lang, null);
    state.lang = LANGS.indexOf(lang) !== -1 ? lang : browserLanguage();
    state.sound = load('localStorage', KEY.sound, true) !== false;
    ui.sound.setAttribute('aria-pressed', state.sound ? 'true' : 'false');
    applyLanguage();
    listen();
    resumeSession();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
