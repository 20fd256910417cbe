/*
 * Digituki staff pages — what the support workers' console (/console) and the
 * coordinators' report (/reports) and provider upkeep (/providers) pages share.
 * One plain script: no build step, no dependencies. Served at /staff/common.js
 * (bot/web/staff_pages.py) and named in each page before the page's own script;
 * both are `defer`, so this one has run when the page's script starts.
 *
 * Everything is on one object, window.DigitukiStaff:
 *   state            lang, agent, csrf — kept here only; a page adds its own fields
 *   ui               the page's elements by id in camelCase (login-form -> ui.loginForm)
 *   addLabels, t     texts in fi / sv / en: the page's own, then the ones shared here
 *   topicName        topic names from GET /api/v1/labels (data/labels.yml), loaded once
 *   $, el, ...       DOM helpers: data is only ever set as text; a yes-or-no question
 *   call, authed     the API: JSON or a file, the CSRF header, errors as codes
 *   start(page)      binds the login form, logging out and the language buttons,
 *                    resumes the session and calls the page back (see start)
 *   parts            a page split into files registers its other parts here
 *
 * Security: text from people and the server is put on the page only with
 * textContent / createTextNode / setAttribute. No innerHTML, no eval, no inline
 * handlers. The CSRF token comes only from the server's answers (the login and
 * GET /api/v1/me, which gives it again after a reload or in a new tab) and is
 * kept in memory, here.
 */
(function () {
  'use strict';

  /* ------------------------------------------------------------------ *
   * Configuration and the texts every staff page has
   * ------------------------------------------------------------------ */

  var LANGS = ['fi', 'sv', 'en'];
  var API = '/api/v1';
  var OVERSEERS = ['coordinator', 'admin'];
  var LANG_KEY = 'digituki.console.lang'; // localStorage: one choice for every staff page
  var LOGIN_IDS = [
    'account', 'agent-name', 'logout', 'login-view', 'login-form', 'login-error', 'username',
    'password', 'login-button', 'announcer'
  ];
  var DENIED_IDS = ['denied-view', 'denied-heading', 'denied-message'];

  var texts = {
    fi: {
      skip: 'Siirry sisältöön',
      language: 'Kieli',
      username: 'Käyttäjätunnus',
      password: 'Salasana',
      login: 'Kirjaudu',
      loginMissing: 'Kirjoita käyttäjätunnus ja salasana.',
      sessionEnded: 'Istunto on päättynyt. Kirjaudu uudelleen.',
      loggedOut: 'Olet kirjautunut ulos.',
      logout: 'Kirjaudu ulos',
      toConsole: 'Työnäkymä',
      err_bad_credentials: 'Väärä käyttäjätunnus tai salasana.',
      err_too_many_attempts: 'Liian monta yritystä. Odota minuutti ja yritä uudelleen.',
      err_too_many_attempts_wait: 'Liian monta yritystä. Yritä uudelleen {m} minuutin kuluttua.',
      err_network: 'Palvelimeen ei saatu yhteyttä. Tarkista yhteys ja yritä uudelleen.',
      err_other: 'Jokin meni vikaan. Yritä uudelleen.',
      lang_fi: 'suomi',
      lang_sv: 'ruotsi',
      lang_en: 'englanti'
    },
    sv: {
      skip: 'Hoppa till innehållet',
      language: 'Språk',
      username: 'Användarnamn',
      password: 'Lösenord',
      login: 'Logga in',
      loginMissing: 'Skriv användarnamn och lösenord.',
      sessionEnded: 'Sessionen har gått ut. Logga in igen.',
      loggedOut: 'Du har loggat ut.',
      logout: 'Logga ut',
      toConsole: 'Arbetsvyn',
      err_bad_credentials: 'Fel användarnamn eller lösenord.',
      err_too_many_attempts: 'För många försök. Vänta en minut och försök igen.',
      err_too_many_attempts_wait: 'För många försök. Försök igen om {m} min.',
      err_network: 'Servern kunde inte nås. Kontrollera anslutningen och försök igen.',
      err_other: 'Något gick fel. Försök igen.',
      lang_fi: 'finska',
      lang_sv: 'svenska',
      lang_en: 'engelska'
    },
    en: {
      skip: 'Skip to content',
      language: 'Language',
      username: 'Username',
      password: 'Password',
      login: 'Log in',
      loginMissing: 'Enter your username and password.',
      sessionEnded: 'Your session has ended. Please log in again.',
      loggedOut: 'You have logged out.',
      logout: 'Log out',
      toConsole: 'Support console',
      err_bad_credentials: 'Wrong username or password.',
      err_too_many_attempts: 'Too many attempts, wait a minute and try again.',
      err_too_many_attempts_wait: 'Too many attempts. Try again in {m} min.',
      err_network: 'The server could not be reached. Check the connection and try again.',
      err_other: 'Something went wrong. Try again.',
      lang_fi: 'Finnish',
      lang_sv: 'Swedish',
      lang_en: 'English'
    }
  };

  var state = {
    lang: 'fi',
    agent: null, // the logged-in account, null when logged out
    csrf: null // the session's CSRF token, from the server's answers only
  };

  var ui = {};
  var page = null; // what start() was given
  var topics = {}; // topic code -> [fi, sv, en], from GET /api/v1/labels
  var labelsLoaded = Promise.resolve();

  /* ------------------------------------------------------------------ *
   * Texts
   * ------------------------------------------------------------------ */

  /** The page's own texts ({fi, sv, en}); they win over the shared ones of the same key. */
  function addLabels(labels) {
    LANGS.forEach(function (lang) {
      var own = labels[lang] || {};
      Object.keys(own).forEach(function (key) {
        texts[lang][key] = own[key];
      });
    });
  }

  /** The label `key` in the current language, with {name} placeholders filled. */
  function t(key, params) {
    var text = texts[state.lang][key];
    if (text === undefined) {
      text = texts.en[key] !== undefined ? texts.en[key] : key;
    }
    if (params) {
      text = text.replace(/\{(\w+)\}/g, function (all, name) {
        return params[name] !== undefined ? String(params[name]) : all;
      });
    }
    return text;
  }

  /** Whether there is a text for `key` (the English ones are complete). */
  function hasLabel(key) {
    return texts.en[key] !== undefined;
  }

  /** A topic code as a word of the current language (unknown codes as they are). */
  function topicName(code) {
    var names = topics[code];
    return names ? names[LANGS.indexOf(state.lang)] : code;
  }

  /** The topic names of data/labels.yml, once per page load; without them topics show as codes. */
  function loadLabels() {
    return call('GET', '/labels').then(function (result) {
      var found = result.ok && isObject(result.data) && isObject(result.data.topic) ? result.data.topic : {};
      Object.keys(found).forEach(function (code) {
        var names = list(found[code]);
        if (names.length === LANGS.length && names.every(function (name) {
          return typeof name === 'string' && name;
        })) {
          topics[code] = names;
        }
      });
    });
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
   * Storage and DOM helpers
   * ------------------------------------------------------------------ */

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
      // Disabled storage: the page still works until it is reloaded.
    }
  }

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

  function isObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  function str(value) {
    return typeof value === 'string' ? value : '';
  }

  function list(value) {
    return Array.isArray(value) ? value : [];
  }

  /** Elements by id into `ui`, named in camelCase: 'login-form' is ui.loginForm. */
  function bindUi(ids) {
    ids.forEach(function (id) {
      ui[id.replace(/-(\w)/g, function (all, c) {
        return c.toUpperCase();
      })] = $(id);
    });
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

  /**
   * Put `text` in a live region (role="alert" or "status"); '' clears it. The
   * region is emptied first and filled a moment later, so that the same message
   * twice is read out twice; a newer call cancels an older one still waiting.
   * `detail` is the server's own message (English), added in a span that says so.
   */
  function speak(node, text, detail) {
    clearTimeout(node.digitukiTimer);
    node.textContent = '';
    if (!text) {
      return;
    }
    node.digitukiTimer = setTimeout(function () {
      node.textContent = text;
      if (detail) {
        node.appendChild(document.createTextNode(' '));
        var server = el('span', null, detail);
        server.lang = 'en';
        node.appendChild(server);
      }
    }, 50);
  }

  /**
   * A page's yes-or-no question: `box` (a .confirm) with its `question` paragraph.
   * ask(text) shows it and puts focus on the question; hide(returnFocus) closes it,
   * focus back on `opener` when asked; Escape in `area` cancels it.
   */
  function confirmation(box, question, opener, area) {
    function hide(returnFocus) {
      box.hidden = true;
      if (returnFocus) {
        opener.focus();
      }
    }
    area.addEventListener('keydown', function (event) {
      if (event.key === 'Escape' && !box.hidden) {
        event.preventDefault();
        hide(true);
      }
    });
    return {
      ask: function (text) {
        question.textContent = text;
        box.hidden = false;
        question.focus();
      },
      hide: hide,
      isOpen: function () {
        return !box.hidden;
      }
    };
  }

  /** Say `text` to screen-reader users (the page's polite status region). */
  function announce(text) {
    if (ui.announcer) {
      speak(ui.announcer, text);
    }
  }

  /* ------------------------------------------------------------------ *
   * The API
   * ------------------------------------------------------------------ */

  /**
   * Call the API; resolves (never rejects) to {ok, status, data, code, message,
   * retryAfter}. `body` is sent as JSON, or as it is when it is a file (a Blob,
   * as `contentType`). `code` is the API's error code, 'network' when there was
   * no answer, and 'missing' when the endpoint does not exist on this server (a
   * plain 404 or 405 without the API's error); `message` is the API's own
   * message of a failed call ('' when it has none).
   */
  function call(method, path, body, contentType) {
    var headers = { Accept: 'application/json' };
    var options = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
    if (body instanceof Blob) {
      headers['Content-Type'] = contentType || 'application/octet-stream';
      options.body = body;
    } else if (body !== undefined) {
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
        var result = { ok: response.ok, status: response.status, data: data, code: null, message: '' };
        result.retryAfter = parseInt(response.headers.get('Retry-After') || '', 10) || null;
        if (!response.ok) {
          if (isObject(data) && typeof data.error === 'string') {
            result.code = data.error;
          } else {
            result.code = response.status === 404 || response.status === 405 ? 'missing' : 'other';
          }
          result.message = isObject(data) ? str(data.message) : '';
        }
        return result;
      });
    }, function () {
      return { ok: false, status: 0, data: null, code: 'network', message: '', retryAfter: null };
    });
  }

  /** `call` when logged in: a lost session or CSRF token leads back to the login form. */
  function authed(method, path, body, contentType) {
    return call(method, path, body, contentType).then(function (result) {
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
   * Logging in and out
   * ------------------------------------------------------------------ */

  /** On page load: a session this browser already has (and its CSRF token), or the login form. */
  function resumeSession() {
    Promise.all([labelsLoaded, call('GET', '/me')]).then(function (answers) {
      var result = answers[1];
      var token = result.ok && isObject(result.data) ? str(result.data.csrf_token) : '';
      if (state.agent) {
        return; // logged in with the form meanwhile
      }
      if (token) {
        state.csrf = token;
        loggedIn(result.data, false);
      } else {
        showLogin(result.code === 'network' ? t('err_network') : '');
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
      var data = result.data;
      if (result.ok && isObject(data) && isObject(data.agent) && str(data.csrf_token)) {
        state.csrf = data.csrf_token;
        ui.password.value = '';
        labelsLoaded.then(function () {
          loggedIn(data.agent, true);
        });
      } else if (result.code === 'too_many_attempts' && result.retryAfter) {
        loginFailed(t('err_too_many_attempts_wait', { m: Math.ceil(result.retryAfter / 60) }), ui.password);
      } else {
        loginFailed(errorText(result.code), ui.password);
      }
    });
  }

  function loginFailed(text, focus) {
    speak(ui.loginError, text);
    ui.username.setAttribute('aria-invalid', ui.username.value.trim() ? 'false' : 'true');
    ui.password.setAttribute('aria-invalid', 'true');
    ui.password.value = '';
    focus.focus();
  }

  /** The login form, and nothing of the session that was: the page forgets its part (page.loggedOut). */
  function showLogin(message) {
    state.agent = null;
    state.csrf = null;
    ui.account.hidden = true;
    ui[page.view].hidden = true;
    if (ui.deniedView) {
      ui.deniedView.hidden = true;
    }
    page.loggedOut();
    ui.loginView.hidden = false;
    ui.username.removeAttribute('aria-invalid');
    ui.password.removeAttribute('aria-invalid');
    speak(ui.loginError, message);
    ui.username.focus();
  }

  /** Keep only known fields of the expected types (the pages trust these). */
  function normalizeAgent(agent) {
    return {
      id: agent.id,
      username: str(agent.username),
      display_name: str(agent.display_name) || str(agent.username),
      role: str(agent.role),
      region_codes: list(agent.region_codes),
      capacity: typeof agent.capacity === 'number' ? agent.capacity : null,
      available: agent.available === true
    };
  }

  /**
   * Logged in: the page's view (page.loggedIn), or — on the coordinators' pages,
   * for a worker's account — why not, since the API would refuse every call.
   */
  function loggedIn(agent, moveFocus) {
    state.agent = normalizeAgent(agent);
    ui.loginView.hidden = true;
    ui.account.hidden = false;
    ui.agentName.textContent = state.agent.display_name;
    speak(ui.loginError, '');
    if (page.overseersOnly && OVERSEERS.indexOf(state.agent.role) === -1) {
      ui[page.view].hidden = true;
      ui.deniedView.hidden = false;
      ui.deniedMessage.textContent = t('denied', { name: state.agent.display_name });
      if (moveFocus) {
        ui.deniedHeading.focus();
      }
      return;
    }
    if (ui.deniedView) {
      ui.deniedView.hidden = true;
    }
    ui[page.view].hidden = false;
    page.loggedIn(moveFocus);
  }

  /** The server forgot the session (expired, logged out elsewhere). */
  function sessionEnded() {
    showLogin(t('sessionEnded'));
  }

  function logOut() {
    authed('POST', '/auth/logout').then(function () {
      if (page.loggingOut) {
        page.loggingOut();
      }
      showLogin('');
      announce(t('loggedOut'));
    });
  }

  /* ------------------------------------------------------------------ *
   * Language
   * ------------------------------------------------------------------ */

  function changeLanguage(code) {
    if (LANGS.indexOf(code) === -1) {
      return;
    }
    state.lang = code;
    save('localStorage', LANG_KEY, code);
    applyLanguage();
  }

  /** Every text in the current language; the page builds again what it built from data (page.relabel). */
  function applyLanguage() {
    document.documentElement.lang = state.lang;
    if (page.title) {
      document.title = t(page.title);
    }
    relabelStatic();
    var buttons = document.querySelectorAll('.lang');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute('aria-pressed', buttons[i].getAttribute('data-lang') === state.lang ? 'true' : 'false');
    }
    if (state.agent && ui.deniedView && !ui.deniedView.hidden) {
      ui.deniedMessage.textContent = t('denied', { name: state.agent.display_name });
    }
    if (page.relabel) {
      page.relabel();
    }
  }

  /* ------------------------------------------------------------------ *
   * Start
   * ------------------------------------------------------------------ */

  /**
   * Run a staff page once the document is parsed. `spec`:
   *   view            the ui name of the logged-in view ('workView')
   *   ids             the page's own element ids
   *   title           the label of document.title (optional)
   *   overseersOnly   for coordinators and administrators: a worker sees #denied-view
   *   topics          the page shows topic names: they are loaded before anyone is logged in
   *   init()          after the elements are bound, before the first texts (optional)
   *   listen()        the page's own event listeners (optional)
   *   loggedIn(moveFocus)   an account the page serves logged in
   *   loggedOut()     the session is gone: forget everything of it
   *   loggingOut()    the person logs out (before loggedOut; optional)
   *   relabel()       the language changed (optional)
   */
  function start(spec) {
    page = spec;
    function run() {
      bindUi(LOGIN_IDS.concat(spec.overseersOnly ? DENIED_IDS : [], spec.ids));
      var lang = load('localStorage', LANG_KEY, null);
      state.lang = LANGS.indexOf(lang) !== -1 ? lang : browserLanguage();
      if (spec.init) {
        spec.init();
      }
      applyLanguage();
      ui.loginForm.addEventListener('submit', onLoginSubmit);
      ui.logout.addEventListener('click', logOut);
      var buttons = document.querySelectorAll('.lang');
      for (var i = 0; i < buttons.length; i++) {
        buttons[i].addEventListener('click', function (event) {
          changeLanguage(event.currentTarget.getAttribute('data-lang'));
        });
      }
      if (spec.listen) {
        spec.listen();
      }
      labelsLoaded = spec.topics ? loadLabels() : Promise.resolve();
      resumeSession();
    }
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', run);
    } else {
      run();
    }
  }

  window.DigitukiStaff = Object.freeze({
    LANGS: LANGS,
    API: API,
    OVERSEERS: OVERSEERS,
    state: state,
    ui: ui,
    parts: {},
    addLabels: addLabels,
    t: t,
    hasLabel: hasLabel,
    topicName: topicName,
    load: load,
    save: save,
    $: $,
    el: el,
    isObject: isObject,
    str: str,
    list: list,
    speak: speak,
    showError: speak,
    announce: announce,
    confirmation: confirmation,
    call: call,
    authed: authed,
    errorText: errorText,
    sessionEnded: sessionEnded,
    start: start
  });
})();
