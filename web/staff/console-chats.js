/*
 * The support workers' console, part two (console.js is part one): my chats — the
 * tabs, the open chat, its transcript merged by event id — and what a worker does
 * in a chat: send, notes, hand back, close. One plain script like the rest: no
 * build step. Served at /staff/console-chats.js and named in console.html after
 * the shared script (/staff/common.js) and before console.js, which connects the
 * two parts: it calls DigitukiStaff.parts.consoleChats(...) with the queue's
 * helpers used here and gets back what it calls of this part (see the end).
 *
 * Structure of this file (one IIFE, nothing leaks):
 *   1. my chats                   tabs, the open chat, the transcript merged by event id
 *   2. chat actions               send, notes, hand back, close
 *   3. what console.js calls      listeners, language, reloading, connecting the parts
 *
 * Security: text from people and the server is put on the page only with
 * textContent / createTextNode. No innerHTML, no eval, no inline handlers.
 */
(function (staff) {
  'use strict';

  var MAX_MESSAGE = 2000;
  var OUTCOMES = ['helped', 'referred', 'callback', 'no_answer', 'other'];
  var KEY = {
    chats: 'digituki.console.chats', // sessionStorage: ids of my chats (until /handoff/mine exists)
    selected: 'digituki.console.selected' // sessionStorage
  };

  var state = staff.state;
  state.chats = []; // my active chats: {request, lines, draft, notes, savedNotes, unread, ...}
  state.selectedId = null;
  state.mineMissing = false; // GET /handoff/mine is not there (yet): chats are remembered here
  state.notesMissing = false; // PUT .../notes is not there (yet): notes go with close
  state.localCounter = 0;
  state.quietTimer = null;

  // What this file uses of the shared script, as an import would name it.
  var ui = staff.ui, t = staff.t, el = staff.el, isObject = staff.isObject, str = staff.str,
    list = staff.list, load = staff.load, save = staff.save, announce = staff.announce,
    authed = staff.authed, errorText = staff.errorText;

  // What console.js lends this part (set when it connects the two).
  var normalizeRequest, requestTitle, placeText, channelText, keepFocus, showError;
  var closing = null; // the question "close this chat?" (staff.confirmation), made by listen()

  /* ------------------------------------------------------------------ *
   * 1. My chats
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
    closing.hide(false);
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
   * 2. Chat actions
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
    closing.ask(t('confirmClose', { outcome: t('outcome_' + outcome) }));
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
        closing.hide(true);
        showError(ui.endError, errorText(result.code));
      }
    });
  }

  /* ------------------------------------------------------------------ *
   * 3. What console.js calls
   * ------------------------------------------------------------------ */

  function listen() {
    // Escape in the chat cancels the close question.
    closing = staff.confirmation(ui.confirmClose, ui.confirmQuestion, ui.closeChat, ui.chat);
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
      closing.hide(true);
    });
  }

  /** The chat list and the open chat in the current language; what is typed stays. */
  function relabel() {
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

  /** What happened meanwhile in the open chat (after a reconnect, or polling). */
  function reloadOpenChat() {
    var chat = selectedChat();
    if (chat) {
      loadTranscript(chat);
    }
  }

  /** Logging out: this tab forgets which chats were mine. */
  function forgetRemembered() {
    save('sessionStorage', KEY.chats, null);
    save('sessionStorage', KEY.selected, null);
  }

  staff.parts.consoleChats = function (queue) {
    normalizeRequest = queue.normalizeRequest;
    requestTitle = queue.requestTitle;
    placeText = queue.placeText;
    channelText = queue.channelText;
    keepFocus = queue.keepFocus;
    showError = queue.showError;
    return {
      listen: listen,
      relabel: relabel,
      reloadOpenChat: reloadOpenChat,
      forgetRemembered: forgetRemembered,
      restoreChats: restoreChats,
      renderChatList: renderChatList,
      renderChat: renderChat,
      openClaimedChat: openClaimedChat,
      applyActive: applyActive,
      onSocketMessage: onSocketMessage
    };
  };
})(window.DigitukiStaff);
