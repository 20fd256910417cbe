/*
 * Digituki provider upkeep for coordinators — one plain script: no build step,
 * no dependencies. Served with providers.html and providers.css at /providers;
 * runs on the staff pages' shared script (/staff/common.js: texts, the API,
 * logging in and out, the language) and takes its texts from
 * /staff/providers-labels.js, both named in the page before it.
 *
 * A coordinator or administrator logs in, finds the providers of their regions
 * (search words and an active / inactive filter), opens one in a form of the
 * import's columns, saves only the fields that changed, deactivates or
 * activates it again after a confirmation, and uploads a CSV or YAML file:
 * first a preview of what would be new, changed or refused, then Apply.
 * Everything comes from the provider upkeep API (/api/v1/providers,
 * bot/web/providers_api.py), which also validates every value with the
 * importer's rules and decides which regions an account may touch; this page
 * checks nothing the server would not check again.
 *
 * Structure of this file (one IIFE, nothing leaks):
 *   1. configuration              limits, the kinds of columns
 *   2. state and helpers          data is only ever set as text
 *   3. logging in and out         what the page does when the session starts and ends
 *   4. the list                   search, filter, the table
 *   5. the edit form              built from the provider's columns; only changes are sent
 *   6. active or not              with a confirmation
 *   7. upload                     preview, then apply
 *   8. language
 *   9. start
 *
 * Security: text from the server and from files is put on the page only with
 * textContent / createTextNode / setAttribute. No innerHTML, no eval, no inline
 * handlers.
 */
(function (staff) {
  'use strict';

  /* ------------------------------------------------------------------ *
   * 1. Configuration
   * ------------------------------------------------------------------ */

  var MAX_UPLOAD = 5 * 1024 * 1024; // the API's limit (providers_api.MAX_UPLOAD)
  var SEARCH_DELAY_MS = 300; // typing in the search box waits this long before asking
  var SAFE_COLUMN = /^[a-z][a-z0-9_]*$/; // column names become element ids

  /** Columns holding a ';'-separated list, booleans, and long texts. */
  var LIST_COLUMNS = ['support_forms', 'topics', 'languages', 'target_groups', 'service_area'];
  var BOOLEAN_COLUMNS = ['free_of_charge', 'wheelchair_accessible', 'booking_required'];
  var LONG_COLUMNS = ['description_fi', 'description_sv', 'description_en'];
  var BOOLEAN_VALUES = ['true', 'false', ''];

  /* ------------------------------------------------------------------ *
   * 2. State and helpers
   * ------------------------------------------------------------------ */

  var state = staff.state; // lang, agent, csrf: kept by the shared script
  state.providers = []; // the list as the API gave it (normalised)
  state.total = 0;
  state.listLoaded = false;
  state.listSeq = 0; // answers to older searches are dropped
  state.searchTimer = null;
  state.selected = null; // the open provider: {id, fields, columns, active, source, baseline}
  state.editErrors = []; // the last 400's errors: [{column, message}]
  state.editWarnings = [];
  state.upload = null; // the previewed file: {file, format, preview}

  // What this file uses of the shared script, as an import would name it.
  var ui = staff.ui, t = staff.t, $ = staff.$, el = staff.el, isObject = staff.isObject,
    str = staff.str, list = staff.list, showError = staff.showError, announce = staff.announce,
    authed = staff.authed, errorText = staff.errorText;
  var question = null; // "deactivate / activate?" (staff.confirmation), made by listen()

  /** A column's name for people; a column this page does not know keeps its own name. */
  function columnLabel(column) {
    var key = 'col_' + column;
    return staff.hasLabel(key) ? t(key) : column;
  }

  function texts(value) {
    return list(value).filter(function (x) {
      return typeof x === 'string';
    });
  }

  function count(value) {
    return typeof value === 'number' && isFinite(value) ? value : 0;
  }

  /** Fill a list element with one item of text per entry. */
  function fillList(node, items) {
    node.textContent = '';
    items.forEach(function (text) {
      node.appendChild(el('li', null, text));
    });
  }

  function providerPath(id) {
    return '/providers/' + encodeURIComponent(id);
  }

  /* ------------------------------------------------------------------ *
   * 3. Logging in and out
   * ------------------------------------------------------------------ */

  /** Logged in as a coordinator or administrator: the list of their regions. */
  function loggedIn(moveFocus) {
    state.providers = [];
    state.listLoaded = false;
    renderList();
    loadList();
    if (moveFocus) {
      ui.pageHeading.focus();
    }
  }

  /** The session is gone: nothing of it is left for the next one. */
  function loggedOut() {
    clearTimeout(state.searchTimer);
    closeEditor(false);
    clearUpload(true);
    ui.q.value = '';
    ui.activeFilter.value = '';
  }

  /* ------------------------------------------------------------------ *
   * 4. The list
   * ------------------------------------------------------------------ */

  /** Keep only known fields of the expected types (the renderer trusts these). */
  function normalizeSummary(p) {
    return {
      id: str(p.id),
      name_fi: str(p.name_fi),
      name_sv: str(p.name_sv),
      municipality: str(p.municipality),
      municipality_code: str(p.municipality_code),
      support_forms: texts(p.support_forms),
      topics: texts(p.topics),
      languages: texts(p.languages),
      active: p.active === true
    };
  }

  /** The provider's name in the page's language, as far as it has one. */
  function displayName(p) {
    return (state.lang === 'sv' && p.name_sv) || p.name_fi || p.name_sv || p.id;
  }

  function listQuery() {
    var params = [];
    var q = ui.q.value.trim();
    if (q) {
      params.push('q=' + encodeURIComponent(q));
    }
    if (ui.activeFilter.value === 'true' || ui.activeFilter.value === 'false') {
      params.push('active=' + ui.activeFilter.value);
    }
    return params.length ? '?' + params.join('&') : '';
  }

  function loadList() {
    clearTimeout(state.searchTimer);
    state.listSeq += 1;
    var seq = state.listSeq;
    ui.providersTable.setAttribute('aria-busy', 'true');
    if (!state.listLoaded) {
      ui.listStatus.textContent = t('loading');
    }
    return authed('GET', '/providers' + listQuery()).then(function (result) {
      if (seq !== state.listSeq || !state.agent) {
        return; // a newer search is on its way
      }
      ui.providersTable.removeAttribute('aria-busy');
      if (result.ok && isObject(result.data)) {
        state.providers = list(result.data.providers).filter(isObject).map(normalizeSummary).filter(function (p) {
          return p.id;
        });
        state.total = count(result.data.total);
        state.listLoaded = true;
        showError(ui.listError, '');
        renderList();
      } else if (state.agent) {
        ui.listStatus.textContent = '';
        showError(ui.listError, errorText(result.code));
      }
    });
  }

  /** Typing searches after a short pause; Enter or the button at once. */
  function onSearchInput() {
    clearTimeout(state.searchTimer);
    state.searchTimer = setTimeout(loadList, SEARCH_DELAY_MS);
  }

  function onSearchSubmit(event) {
    event.preventDefault();
    loadList();
  }

  function totalText() {
    if (state.providers.length < state.total) {
      return t('totalShown', { shown: state.providers.length, n: state.total });
    }
    return state.total === 1 ? t('totalOne') : t('totalMany', { n: state.total });
  }

  function renderList() {
    var focusedId = null;
    if (ui.providersBody.contains(document.activeElement)) {
      focusedId = document.activeElement.getAttribute('data-provider-id');
    }
    ui.providersBody.textContent = '';
    state.providers.forEach(function (p) {
      ui.providersBody.appendChild(buildRow(p));
    });
    ui.listEmpty.hidden = !state.listLoaded || state.providers.length > 0;
    ui.listScroll.hidden = state.listLoaded && state.providers.length === 0;
    if (state.listLoaded) {
      ui.listStatus.textContent = totalText();
    }
    if (focusedId !== null) {
      var again = rowButton(focusedId);
      (again || ui.q).focus(); // the keyboard user keeps their place
    }
  }

  function buildRow(p) {
    var row = el('tr', p.active ? null : 'is-inactive');
    var nameCell = el('th', 'cell-name');
    nameCell.setAttribute('scope', 'row');
    var open = el('button', 'link-button', displayName(p));
    open.type = 'button';
    open.setAttribute('data-provider-id', p.id);
    if (state.selected && state.selected.id === p.id) {
      open.setAttribute('aria-current', 'true');
    }
    open.addEventListener('click', function () {
      openProvider(p.id, true);
    });
    nameCell.appendChild(open);
    nameCell.appendChild(el('span', 'row-id', p.id));
    row.appendChild(nameCell);
    row.appendChild(el('td', null, p.municipality || p.municipality_code));
    row.appendChild(el('td', 'cell-codes', p.support_forms.join(', ')));
    row.appendChild(el('td', 'cell-codes', p.topics.join(', ')));
    row.appendChild(el('td', 'cell-codes', p.languages.join(', ')));
    var activeCell = el('td');
    activeCell.appendChild(el('span', 'badge-state ' + (p.active ? 'is-active' : 'is-off'), p.active ? t('activeYes') : t('activeNo')));
    row.appendChild(activeCell);
    return row;
  }

  function rowButton(id) {
    var buttons = ui.providersBody.querySelectorAll('button[data-provider-id]');
    for (var i = 0; i < buttons.length; i++) {
      if (buttons[i].getAttribute('data-provider-id') === id) {
        return buttons[i];
      }
    }
    return null;
  }

  function summaryOf(id) {
    for (var i = 0; i < state.providers.length; i++) {
      if (state.providers[i].id === id) {
        return state.providers[i];
      }
    }
    return null;
  }

  /* ------------------------------------------------------------------ *
   * 5. The edit form
   * ------------------------------------------------------------------ */

  /** Open a provider in the form; `moveFocus` when a person chose it. */
  function openProvider(id, moveFocus) {
    showError(ui.listError, '');
    return authed('GET', providerPath(id)).then(function (result) {
      if (!state.agent) {
        return;
      }
      if (!result.ok || !isObject(result.data) || !isObject(result.data.fields)) {
        showError(ui.listError, result.ok ? t('err_other') : errorText(result.code));
        return;
      }
      var data = result.data;
      var fields = {};
      Object.keys(data.fields).forEach(function (column) {
        fields[column] = str(data.fields[column]);
      });
      var columns = texts(data.columns);
      state.selected = {
        id: id,
        fields: fields,
        columns: (columns.length ? columns : Object.keys(fields)).filter(function (c) {
          return SAFE_COLUMN.test(c);
        }),
        active: data.active === true,
        source: str(data.source),
        version: str(data.version),
        baseline: {}
      };
      state.editErrors = [];
      state.editWarnings = [];
      question.hide(false);
      buildForm();
      renderEditor();
      showError(ui.editError, '');
      showError(ui.activeError, '');
      ui.editStatus.textContent = '';
      ui.editor.hidden = false;
      markSelectedRow();
      if (moveFocus) {
        ui.editorHeading.focus();
        ui.editor.scrollIntoView({ block: 'start' });
      }
    });
  }

  function markSelectedRow() {
    var buttons = ui.providersBody.querySelectorAll('button[data-provider-id]');
    for (var i = 0; i < buttons.length; i++) {
      if (state.selected && buttons[i].getAttribute('data-provider-id') === state.selected.id) {
        buttons[i].setAttribute('aria-current', 'true');
      } else {
        buttons[i].removeAttribute('aria-current');
      }
    }
  }

  function fieldId(column) {
    return 'f-' + column;
  }

  function control(column) {
    return $(fieldId(column));
  }

  /** One labelled control per column, in the columns' order, with a hint and an error line. */
  function buildForm() {
    var selected = state.selected;
    ui.editFields.textContent = '';
    selected.columns.forEach(function (column) {
      var field = el('div', 'field edit-field' + (LONG_COLUMNS.indexOf(column) !== -1 ? ' field-wide' : ''));
      field.setAttribute('data-column', column);
      var label = el('label', 'field-label');
      label.htmlFor = fieldId(column);
      field.appendChild(label);
      var input;
      if (BOOLEAN_COLUMNS.indexOf(column) !== -1) {
        input = el('select');
        BOOLEAN_VALUES.forEach(function (value) {
          var option = el('option');
          option.value = value;
          input.appendChild(option);
        });
      } else if (LONG_COLUMNS.indexOf(column) !== -1) {
        input = el('textarea');
        input.rows = 3;
      } else {
        input = el('input');
        input.type = 'text';
        input.spellcheck = false;
        input.autocomplete = 'off';
      }
      input.id = fieldId(column);
      input.name = column;
      if (column === 'id') {
        input.readOnly = true;
      }
      var hint = el('p', 'hint');
      hint.id = 'h-' + column;
      var error = el('p', 'field-error');
      error.id = 'e-' + column;
      // The hint under the box keeps the boxes of a row in line, whatever the hints' lengths.
      field.appendChild(input);
      field.appendChild(hint);
      field.appendChild(error);
      ui.editFields.appendChild(field);
      input.value = selected.fields[column] || '';
      // What the browser shows is the baseline (a text box drops line breaks, a
      // text area normalises them): only what the person changes is sent.
      selected.baseline[column] = input.value;
    });
    renderFieldTexts();
  }

  /** Labels and hints of the form in the current language. */
  function renderFieldTexts() {
    var selected = state.selected;
    if (!selected) {
      return;
    }
    var summary = summaryOf(selected.id);
    selected.columns.forEach(function (column) {
      var input = control(column);
      var field = input.parentNode;
      field.querySelector('label').textContent = columnLabel(column);
      var hint = [];
      if (LIST_COLUMNS.indexOf(column) !== -1) {
        hint.push(t('hintList'));
      }
      if (column === 'municipality' && summary && summary.municipality && summary.municipality_code === selected.fields.municipality) {
        hint.push(t('hint_municipality_now', { name: summary.municipality, code: summary.municipality_code }));
      } else if (staff.hasLabel('hint_' + column)) {
        hint.push(t('hint_' + column));
      }
      var hintNode = $('h-' + column);
      hintNode.textContent = hint.join(' ');
      hintNode.hidden = !hint.length;
      if (input.tagName === 'SELECT') {
        for (var i = 0; i < input.options.length; i++) {
          input.options[i].textContent = t('bool_' + input.options[i].value);
        }
      }
    });
    renderFieldErrors();
  }

  /** Each error next to its field; the field says it is invalid and points at the message. */
  function renderFieldErrors() {
    var byColumn = {};
    state.editErrors.forEach(function (e) {
      (byColumn[e.column] = byColumn[e.column] || []).push(e.message);
    });
    state.selected.columns.forEach(function (column) {
      var input = control(column);
      var messages = byColumn[column] || [];
      $('e-' + column).textContent = messages.join(' ');
      var described = [];
      if (!$('h-' + column).hidden) {
        described.push('h-' + column);
      }
      if (messages.length) {
        described.push('e-' + column);
        input.setAttribute('aria-invalid', 'true');
      } else {
        input.removeAttribute('aria-invalid');
      }
      if (described.length) {
        input.setAttribute('aria-describedby', described.join(' '));
      } else {
        input.removeAttribute('aria-describedby');
      }
    });
    ui.editWarnings.hidden = state.editWarnings.length === 0;
    fillList(ui.editWarningList, state.editWarnings.map(function (w) {
      return columnLabel(w.column) + ': ' + w.message;
    }));
  }

  /** The heading and the state of the open provider. */
  function renderEditor() {
    var selected = state.selected;
    if (!selected) {
      return;
    }
    var name = providerName(selected);
    ui.editorHeading.textContent = t('editorHeading', { name: name });
    ui.editorState.textContent = selected.active ? t('stateActive') : t('stateInactive');
    ui.editorState.className = 'badge-state ' + (selected.active ? 'is-active' : 'is-off');
    ui.editorSource.textContent = selected.source ? t('source', { source: selected.source }) : '';
    ui.activityHint.textContent = selected.active ? t('activeHint') : t('inactiveHint');
    ui.toggleActive.textContent = selected.active ? t('deactivate') : t('activate');
    ui.toggleActive.className = 'btn ' + (selected.active ? 'btn-danger' : '');
    ui.confirmYes.textContent = selected.active ? t('yesDeactivate') : t('yesActivate');
    if (question.isOpen()) {
      ui.confirmQuestion.textContent = confirmText();
    }
  }

  function providerName(selected) {
    var f = selected.fields;
    return (state.lang === 'sv' && f.name_sv) || (state.lang === 'en' && f.name_en) || f.name_fi || selected.id;
  }

  function normalizeIssues(value) {
    return list(value).filter(isObject).map(function (i) {
      return { line: i.line, column: str(i.column), message: str(i.message) };
    });
  }

  function onSave(event) {
    event.preventDefault();
    var selected = state.selected;
    if (!selected || ui.save.getAttribute('aria-disabled') === 'true') {
      return;
    }
    var changes = {};
    var changed = 0;
    selected.columns.forEach(function (column) {
      var input = control(column);
      if (column !== 'id' && input.value !== selected.baseline[column]) {
        changes[column] = input.value;
        changed += 1;
      }
    });
    state.editErrors = [];
    state.editWarnings = [];
    renderFieldErrors();
    showError(ui.editError, '');
    if (!changed) {
      ui.editStatus.textContent = t('nothingChanged');
      return;
    }
    ui.save.setAttribute('aria-disabled', 'true');
    ui.editStatus.textContent = t('saving');
    var body = { fields: changes };
    if (selected.version) {
      body.version = selected.version; // someone else's save meanwhile: 409, not overwritten
    }
    authed('PUT', providerPath(selected.id), body).then(function (result) {
      ui.save.removeAttribute('aria-disabled');
      if (selected !== state.selected || !state.agent) {
        return;
      }
      ui.editStatus.textContent = '';
      if (result.ok && isObject(result.data) && isObject(result.data.fields)) {
        saved(selected, result.data);
      } else if (result.code === 'changed' && isObject(result.data) && isObject(result.data.fields)) {
        changedMeanwhile(selected, result.data);
      } else if (result.status === 400 && isObject(result.data) && Array.isArray(result.data.errors)) {
        notSaved(normalizeIssues(result.data.errors));
      } else if (result.code === 'outside_regions') {
        showError(ui.editError, t('err_outside_edit'));
        if ('municipality' in changes) {
          control('municipality').setAttribute('aria-invalid', 'true');
          control('municipality').focus();
        }
      } else if (result.status === 400 && result.message) {
        showError(ui.editError, t('notSavedOther', { message: result.message }));
      } else if (state.agent) {
        showError(ui.editError, errorText(result.code));
      }
    });
  }

  /**
   * A 409: someone saved this provider after it was opened here. What they saved
   * becomes the baseline, and the fields this person did not touch show it; what
   * this person typed stays, to be saved again knowingly. The alert names the
   * fields the other person changed.
   */
  function changedMeanwhile(selected, data) {
    var theirs = [];
    Object.keys(data.fields).forEach(function (column) {
      var value = str(data.fields[column]);
      if (selected.columns.indexOf(column) >= 0 && value !== selected.baseline[column]) {
        theirs.push(columnLabel(column));
      }
      selected.fields[column] = value;
    });
    selected.version = str(data.version);
    selected.columns.forEach(function (column) {
      var input = control(column);
      if (input.value === selected.baseline[column]) {
        input.value = selected.fields[column] || '';
      }
      selected.baseline[column] = selected.fields[column] || '';
    });
    renderEditor();
    showError(ui.editError, t('err_changed', { fields: theirs.join(', ') || '–' }));
  }

  function saved(selected, data) {
    Object.keys(data.fields).forEach(function (column) {
      selected.fields[column] = str(data.fields[column]);
    });
    selected.version = str(data.version);
    selected.columns.forEach(function (column) {
      var input = control(column);
      input.value = selected.fields[column] || '';
      selected.baseline[column] = input.value;
    });
    state.editWarnings = normalizeIssues(data.warnings);
    renderFieldErrors();
    renderEditor();
    ui.editStatus.textContent = t('saved', { name: providerName(selected) });
    loadList().then(renderFieldTexts); // names and the municipality may have changed
  }

  /** A 400: every error next to its field, and a summary in the alert. */
  function notSaved(errors) {
    state.editErrors = errors;
    renderFieldErrors();
    var columns = state.selected.columns;
    var labels = [];
    var others = [];
    errors.forEach(function (e) {
      if (columns.indexOf(e.column) !== -1 && e.column !== 'id') {
        var label = columnLabel(e.column);
        if (labels.indexOf(label) === -1) {
          labels.push(label);
        }
      } else {
        others.push((e.column ? e.column + ': ' : '') + e.message);
      }
    });
    var parts = [];
    if (labels.length) {
      parts.push(t('notSaved', { fields: labels.join(', ') }));
    }
    if (others.length) {
      parts.push(t('notSavedOther', { message: others.join(' ') }));
    }
    showError(ui.editError, parts.join(' '));
    for (var i = 0; i < columns.length; i++) {
      if (control(columns[i]).getAttribute('aria-invalid') === 'true') {
        control(columns[i]).focus();
        break;
      }
    }
  }

  function closeEditor(returnFocus) {
    var id = state.selected ? state.selected.id : null;
    state.selected = null;
    state.editErrors = [];
    state.editWarnings = [];
    ui.editor.hidden = true;
    ui.editFields.textContent = '';
    question.hide(false);
    markSelectedRow();
    if (returnFocus) {
      var button = id !== null ? rowButton(id) : null;
      (button || ui.q).focus();
    }
  }

  /* ------------------------------------------------------------------ *
   * 6. Active or not
   * ------------------------------------------------------------------ */

  function confirmText() {
    var selected = state.selected;
    var name = providerName(selected);
    return selected.active ? t('confirmDeactivate', { name: name }) : t('confirmActivate', { name: name });
  }

  function askToggle() {
    if (!state.selected) {
      return;
    }
    showError(ui.activeError, '');
    renderEditor();
    question.ask(confirmText());
  }

  function setActive() {
    var selected = state.selected;
    if (!selected || ui.confirmYes.getAttribute('aria-disabled') === 'true') {
      return;
    }
    var wanted = !selected.active;
    ui.confirmYes.setAttribute('aria-disabled', 'true');
    authed('PUT', providerPath(selected.id) + '/active', { active: wanted }).then(function (result) {
      ui.confirmYes.removeAttribute('aria-disabled');
      if (selected !== state.selected || !state.agent) {
        return;
      }
      question.hide(true);
      if (result.ok) {
        selected.active = wanted;
        renderEditor();
        announce(t(wanted ? 'activated' : 'deactivated', { name: providerName(selected) }));
        loadList();
      } else {
        showError(ui.activeError, errorText(result.code));
      }
    });
  }

  /* ------------------------------------------------------------------ *
   * 7. Upload
   * ------------------------------------------------------------------ */

  /** A new file: its format from its name, and no preview of an older one. */
  function onFileChosen() {
    var file = ui.uploadFile.files && ui.uploadFile.files[0];
    if (file && /\.ya?ml$/i.test(file.name)) {
      ui.uploadFormat.value = 'yaml';
    } else if (file && /\.json$/i.test(file.name)) {
      ui.uploadFormat.value = 'ptv';
    } else if (file && /\.csv$/i.test(file.name)) {
      ui.uploadFormat.value = 'csv';
    }
    clearUpload(false);
  }

  /** Forget the preview (Apply needs a new one); `all` empties the file box too. */
  function clearUpload(all) {
    state.upload = null;
    ui.preview.hidden = true;
    ui.apply.disabled = true;
    showError(ui.uploadError, '');
    ui.uploadStatus.textContent = '';
    if (all) {
      ui.uploadFile.value = '';
    }
  }

  function uploadPath(format, apply) {
    return '/providers/upload?format=' + encodeURIComponent(format) + (apply ? '&apply=true' : '');
  }

  function contentType(format) {
    return { yaml: 'application/yaml', ptv: 'application/json' }[format] || 'text/csv';
  }

  function onPreview(event) {
    event.preventDefault();
    var file = ui.uploadFile.files && ui.uploadFile.files[0];
    var format = ['yaml', 'ptv'].indexOf(ui.uploadFormat.value) >= 0 ? ui.uploadFormat.value : 'csv';
    clearUpload(false);
    if (!file) {
      showError(ui.uploadError, t('chooseFile'));
      ui.uploadFile.focus();
      return;
    }
    if (file.size > MAX_UPLOAD) {
      showError(ui.uploadError, t('tooLarge'));
      return;
    }
    if (ui.previewButton.getAttribute('aria-disabled') === 'true') {
      return;
    }
    ui.previewButton.setAttribute('aria-disabled', 'true');
    ui.uploadStatus.textContent = t('reading');
    authed('POST', uploadPath(format, false), file, contentType(format)).then(function (result) {
      ui.previewButton.removeAttribute('aria-disabled');
      ui.uploadStatus.textContent = '';
      if (!state.agent) {
        return;
      }
      if (result.ok && isPreview(result.data)) {
        state.upload = { file: file, format: format, preview: normalizePreview(result.data) };
        renderPreview();
        ui.uploadStatus.textContent = previewSummary(state.upload.preview);
        showError(ui.uploadError, previewProblems(state.upload.preview));
        ui.previewHeading.focus();
      } else {
        uploadFailed(result);
      }
    });
  }

  function isPreview(data) {
    return isObject(data) && Array.isArray(data.new) && Array.isArray(data.changed);
  }

  function normalizePreview(data) {
    return {
      rows: count(data.rows),
      new: texts(data.new),
      changed: list(data.changed).filter(isObject).map(function (c) {
        return { id: str(c.id), fields: texts(c.fields) };
      }),
      unchanged: count(data.unchanged),
      outside: texts(data.outside_regions),
      errors: normalizeIssues(data.errors),
      warnings: normalizeIssues(data.warnings),
      applied: data.applied === true
    };
  }

  function previewSummary(p) {
    return t('previewReady', { new: p.new.length, changed: p.changed.length, unchanged: p.unchanged });
  }

  /** Why the file cannot be applied, or '' when it can. */
  function previewProblems(p) {
    var problems = [];
    if (p.errors.length) {
      problems.push(t('blockedErrors'));
    }
    if (p.outside.length) {
      problems.push(t('blockedOutside', { ids: p.outside.join(', ') }));
    }
    return problems.join(' ');
  }

  function canApply(p) {
    return !p.errors.length && !p.outside.length && p.new.length + p.changed.length > 0;
  }

  function issueText(issue) {
    return t('issue', { line: issue.line, column: columnLabel(issue.column), message: issue.message });
  }

  function renderPreview() {
    var upload = state.upload;
    ui.preview.hidden = !upload;
    if (!upload) {
      return;
    }
    var p = upload.preview;
    ui.previewFigures.textContent = '';
    [['fig_rows', p.rows], ['fig_new', p.new.length], ['fig_changed', p.changed.length], ['fig_unchanged', p.unchanged]].forEach(function (pair) {
      var item = el('div', 'figure');
      item.appendChild(el('dt', null, t(pair[0])));
      item.appendChild(el('dd', null, pair[1]));
      ui.previewFigures.appendChild(item);
    });
    showBlock(ui.previewOutside, ui.previewOutsideList, p.outside);
    showBlock(ui.previewErrors, ui.previewErrorList, p.errors.map(issueText));
    showBlock(ui.previewNew, ui.previewNewList, p.new);
    showBlock(ui.previewChanged, ui.previewChangedList, p.changed.map(function (c) {
      var fields = c.fields.map(function (f) {
        return f === 'active' ? t('reactivated') : f;
      });
      return c.id + ': ' + fields.join(', ');
    }));
    showBlock(ui.previewWarnings, ui.previewWarningList, p.warnings.map(issueText));
    var ready = canApply(p);
    ui.apply.disabled = !ready;
    if (ready) {
      ui.applyHint.textContent = t('applyReady', { new: p.new.length, changed: p.changed.length });
    } else if (p.errors.length || p.outside.length) {
      ui.applyHint.textContent = t('applyBlocked');
    } else {
      ui.applyHint.textContent = t('applyNothing');
    }
  }

  function showBlock(block, listNode, items) {
    block.hidden = items.length === 0;
    fillList(listNode, items);
  }

  function onApply() {
    var upload = state.upload;
    if (!upload || !canApply(upload.preview) || ui.apply.getAttribute('aria-disabled') === 'true') {
      return;
    }
    ui.apply.setAttribute('aria-disabled', 'true');
    ui.uploadStatus.textContent = t('applying');
    authed('POST', uploadPath(upload.format, true), upload.file, contentType(upload.format)).then(function (result) {
      ui.apply.removeAttribute('aria-disabled');
      ui.uploadStatus.textContent = '';
      if (upload !== state.upload || !state.agent) {
        return;
      }
      if (result.ok && isPreview(result.data) && result.data.applied === true) {
        var done = normalizePreview(result.data);
        clearUpload(true);
        ui.uploadStatus.textContent = t('applied', { new: done.new.length, changed: done.changed.length });
        ui.uploadHeading.focus();
        loadList();
        if (state.selected) {
          openProvider(state.selected.id, false); // it may be one of the changed
        }
      } else if (isPreview(result.data)) {
        // The data changed since the preview: show what the server found now.
        upload.preview = normalizePreview(result.data);
        renderPreview();
        showError(ui.uploadError, previewProblems(upload.preview) || errorText(result.code));
        ui.previewHeading.focus();
      } else {
        uploadFailed(result);
      }
    });
  }

  function uploadFailed(result) {
    if (result.code === 'invalid' && result.message) {
      showError(ui.uploadError, t('unreadable', { message: result.message }));
    } else if (state.agent) {
      showError(ui.uploadError, errorText(result.code));
    }
  }

  /* ------------------------------------------------------------------ *
   * 8. Language
   * ------------------------------------------------------------------ */

  /** What was built from data is built again in the new language. */
  function relabel() {
    if (!state.agent) {
      return;
    }
    if (state.listLoaded) {
      renderList();
    }
    if (state.selected) {
      renderFieldTexts();
      renderEditor();
    }
    if (state.upload) {
      renderPreview();
    }
  }

  /* ------------------------------------------------------------------ *
   * 9. Start
   * ------------------------------------------------------------------ */

  function listen() {
    // Escape in the editor cancels the question.
    question = staff.confirmation(ui.confirmActive, ui.confirmQuestion, ui.toggleActive, ui.editor);
    ui.searchForm.addEventListener('submit', onSearchSubmit);
    ui.q.addEventListener('input', onSearchInput);
    ui.activeFilter.addEventListener('change', loadList);
    ui.editForm.addEventListener('submit', onSave);
    ui.closeEditor.addEventListener('click', function () {
      closeEditor(true);
    });
    ui.toggleActive.addEventListener('click', askToggle);
    ui.confirmYes.addEventListener('click', setActive);
    ui.confirmNo.addEventListener('click', function () {
      question.hide(true);
    });
    ui.uploadFile.addEventListener('change', onFileChosen);
    ui.uploadFormat.addEventListener('change', function () {
      clearUpload(false);
    });
    ui.uploadForm.addEventListener('submit', onPreview);
    ui.apply.addEventListener('click', onApply);
  }

  staff.start({
    view: 'workView',
    ids: [
      'work-view', 'page-heading', 'search-form', 'q', 'active-filter', 'list-status', 'list-error',
      'list-scroll', 'providers-table', 'providers-body', 'list-empty', 'editor', 'editor-heading',
      'editor-state', 'editor-source', 'edit-form', 'edit-error', 'edit-fields', 'edit-warnings',
      'edit-warning-list', 'save', 'close-editor', 'edit-status', 'activity-hint', 'toggle-active',
      'confirm-active', 'confirm-question', 'confirm-yes', 'confirm-no', 'active-error',
      'upload-heading', 'upload-form', 'upload-file', 'upload-format', 'preview-button',
      'upload-error', 'upload-status', 'preview', 'preview-heading', 'preview-figures',
      'preview-outside', 'preview-outside-list', 'preview-errors', 'preview-error-list',
      'preview-new', 'preview-new-list', 'preview-changed', 'preview-changed-list',
      'preview-warnings', 'preview-warning-list', 'apply', 'apply-hint'
    ],
    title: 'title',
    overseersOnly: true,
    listen: listen,
    loggedIn: loggedIn,
    loggedOut: loggedOut,
    relabel: relabel
  });
})(window.DigitukiStaff);
