/*
 * Digituki report page for coordinators — one plain script: no build step, no
 * dependencies. Served with reports.html and reports.css at /reports; runs on
 * the staff pages' shared script (/staff/common.js: texts, the API, logging in
 * and out, the language), which the page names first.
 *
 * A coordinator or administrator logs in, chooses a region, a period and the
 * distance beyond which in-person help does not meet a need, and sees the
 * period's figures, a chart per week, a chart of unmet needs by region and
 * language, and the tables behind them; the same rows download as CSV.
 * Everything comes from the reports API (GET /api/v1/reports,
 * bot/web/reports_api.py), which also decides which regions an account sees.
 *
 * Structure of this file (one IIFE, nothing leaks):
 *   1. configuration and labels   the page's texts in fi / sv / en
 *   2. state and helpers          data is only ever set as text
 *   3. logging in and out         what the page does when the session starts and ends
 *   4. the filters                defaults, checks, the query
 *   5. loading the report
 *   6. figures and tables
 *   7. charts                     inline SVG built with createElementNS
 *   8. language
 *   9. start
 *
 * Security: text from the server is put on the page only with textContent /
 * createTextNode / setAttribute. No innerHTML, no eval, no inline handlers.
 */
(function (staff) {
  'use strict';

  /* ------------------------------------------------------------------ *
   * 1. Configuration and labels
   * ------------------------------------------------------------------ */

  var LANGS = staff.LANGS;
  var DEFAULT_DAYS = 28; // the last four weeks, as the API's default
  var MAX_DAYS = 366; // the API refuses longer periods
  var DEFAULT_KM = 30;
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var METRICS = [
    'conversations', 'needs', 'recommendations', 'unmet', 'unmet_none', 'unmet_distance',
    'unmet_language', 'handoffs', 'callbacks', 'handoffs_helped', 'handoffs_unanswered'
  ];
  var FIGURES = ['conversations', 'needs', 'recommendations', 'unmet', 'handoffs', 'callbacks', 'handoffs_helped', 'handoffs_unanswered'];
  var LOCALES = { fi: 'fi-FI', sv: 'sv-FI', en: 'en-GB' };


  staff.addLabels({
    fi: {
      pageTitle: 'Digituki – raportit',
      brandSub: 'Raportit koordinaattoreille',
      loginHeading: 'Kirjaudu raportteihin',
      toConsoleLong: 'Siirry digituen työnäkymään',
      denied: 'Raportit ovat koordinaattoreille ja ylläpitäjille. Olet kirjautunut tunnuksella {name}, joka on tukihenkilön tunnus.',
      reportHeading: 'Tarpeet ja tarjonta',
      filtersHeading: 'Raportin valinnat',
      region: 'Maakunta',
      allMyRegions: 'Kaikki omat maakuntani',
      allRegions: 'Kaikki maakunnat',
      since: 'Alkupäivä',
      until: 'Loppupäivä',
      unmetKm: 'Etäisyysraja (km)',
      unmetHint: 'Tarve jää täyttymättä, kun haku ei löytänyt mitään, apua löytyi vain muulla kielellä tai lähin paikan päällä annettava apu on tätä kauempana.',
      update: 'Päivitä',
      downloadCsv: 'Lataa CSV',
      loading: 'Ladataan raporttia…',
      loaded: 'Raportti päivitetty: {what}.',
      period: '{since}–{until} · {region} · etäisyysraja {km} km',
      summaryHeading: 'Ajanjaksolla',
      unmetReasons: 'Täyttymättömistä tarpeista: {none} ilman apua, {distance} liian kaukana, {language} ei omalla kielellä.',
      noConversations: 'Ajanjaksolla ei ollut keskusteluja.',
      weeksHeading: 'Keskustelut ja täyttymättömät tarpeet viikoittain',
      weeksDesc: '{week}: keskustelut {conversations}, täyttymättömät tarpeet {unmet}',
      gapsHeading: 'Täyttymättömät tarpeet maakunnittain ja kielittäin',
      gapsEmpty: 'Ajanjaksolla ei ollut täyttymättömiä tarpeita.',
      gapsDesc: '{what}: täyttymättömät tarpeet {unmet} (ilman apua {none}, liian kaukana {distance}, ei omalla kielellä {language})',
      chartScroll: '{what} – vieritä sivusuunnassa',
      tablesHeading: 'Luvut',
      regionCaption: 'Maakunnittain ja kielittäin, {period}',
      topicCaption: 'Aiheittain, {period}',
      feedbackHeading: 'Palaute',
      feedbackCounts: '👍 {up} · 👎 {down}',
      noComments: 'Ei kommentteja tällä ajalla.',
      noRows: 'Ei rivejä.',
      col_region: 'Maakunta',
      col_language: 'Kieli',
      col_topic: 'Aihe',
      m_conversations: 'Keskustelut',
      m_needs: 'Tarpeet',
      m_recommendations: 'Suositukset',
      m_unmet: 'Täyttymättömät tarpeet',
      m_unmet_none: 'Ilman apua',
      m_unmet_distance: 'Liian kaukana',
      m_unmet_language: 'Ei omalla kielellä',
      m_handoffs: 'Siirrot tukihenkilölle',
      m_callbacks: 'Soittopyynnöt',
      m_handoffs_helped: 'Tukihenkilö auttoi',
      m_handoffs_unanswered: 'Vastaamatta jääneet',
      week: 'vk {week}/{year}',
      weekShort: 'vk {week}',
      regionUnknown: 'Maakunta ei tiedossa',
      regionCode: 'maakunta {code}',
      languageUnknown: 'kieli ei tiedossa',
      noTopic: 'aihe ei tiedossa',
      err_since: 'Anna alkupäivä.',
      err_until: 'Anna loppupäivä.',
      err_order: 'Alkupäivä on loppupäivän jälkeen.',
      err_too_long: 'Raportti kattaa enintään {days} päivää.',
      err_km: 'Etäisyysraja on 1–500 km.',
      err_bad_query: 'Raporttia ei voitu tehdä:',
      err_outside_regions: 'Valittu maakunta ei ole omiasi.',
      err_wrong_role: 'Raportit ovat koordinaattoreille ja ylläpitäjille.'
    },
    sv: {
      pageTitle: 'Digituki – rapporter',
      brandSub: 'Rapporter för koordinatorer',
      loginHeading: 'Logga in till rapporterna',
      toConsoleLong: 'Gå till digistödets arbetsvy',
      denied: 'Rapporterna är för koordinatorer och administratörer. Du är inloggad som {name}, en stödpersons konto.',
      reportHeading: 'Behov och utbud',
      filtersHeading: 'Rapportens val',
      region: 'Landskap',
      allMyRegions: 'Alla mina landskap',
      allRegions: 'Alla landskap',
      since: 'Från och med',
      until: 'Till och med',
      unmetKm: 'Avståndsgräns (km)',
      unmetHint: 'Ett behov blir ouppfyllt när sökningen inte hittade något, hjälp fanns bara på ett annat språk eller den närmaste hjälpen på plats är längre bort än så här.',
      update: 'Uppdatera',
      downloadCsv: 'Ladda ner CSV',
      loading: 'Rapporten laddas…',
      loaded: 'Rapporten uppdaterades: {what}.',
      period: '{since}–{until} · {region} · avståndsgräns {km} km',
      summaryHeading: 'Under perioden',
      unmetReasons: 'Av de ouppfyllda behoven: {none} utan hjälp, {distance} för långt bort, {language} inte på eget språk.',
      noConversations: 'Inga samtal under perioden.',
      weeksHeading: 'Samtal och ouppfyllda behov per vecka',
      weeksDesc: '{week}: samtal {conversations}, ouppfyllda behov {unmet}',
      gapsHeading: 'Ouppfyllda behov per landskap och språk',
      gapsEmpty: 'Inga ouppfyllda behov under perioden.',
      gapsDesc: '{what}: ouppfyllda behov {unmet} (utan hjälp {none}, för långt bort {distance}, inte på eget språk {language})',
      chartScroll: '{what} – rulla i sidled',
      tablesHeading: 'Siffrorna',
      regionCaption: 'Per landskap och språk, {period}',
      topicCaption: 'Per ämne, {period}',
      feedbackHeading: 'Respons',
      feedbackCounts: '👍 {up} · 👎 {down}',
      noComments: 'Inga kommentarer under perioden.',
      noRows: 'Inga rader.',
      col_region: 'Landskap',
      col_language: 'Språk',
      col_topic: 'Ämne',
      m_conversations: 'Samtal',
      m_needs: 'Behov',
      m_recommendations: 'Rekommendationer',
      m_unmet: 'Ouppfyllda behov',
      m_unmet_none: 'Utan hjälp',
      m_unmet_distance: 'För långt bort',
      m_unmet_language: 'Inte på eget språk',
      m_handoffs: 'Överlämnade till stödperson',
      m_callbacks: 'Begäran om uppringning',
      m_handoffs_helped: 'Stödpersonen hjälpte',
      m_handoffs_unanswered: 'Obesvarade',
      week: 'v. {week}/{year}',
      weekShort: 'v. {week}',
      regionUnknown: 'Landskapet okänt',
      regionCode: 'landskap {code}',
      languageUnknown: 'språket okänt',
      noTopic: 'ämnet okänt',
      err_since: 'Ange startdatum.',
      err_until: 'Ange slutdatum.',
      err_order: 'Startdatumet är efter slutdatumet.',
      err_too_long: 'En rapport omfattar högst {days} dagar.',
      err_km: 'Avståndsgränsen är 1–500 km.',
      err_bad_query: 'Rapporten kunde inte göras:',
      err_outside_regions: 'Det valda landskapet är inte ditt.',
      err_wrong_role: 'Rapporterna är för koordinatorer och administratörer.'
    },
    en: {
      pageTitle: 'Digituki reports',
      brandSub: 'Reports for coordinators',
      loginHeading: 'Log in to the reports',
      toConsoleLong: 'Go to the support console',
      denied: 'Reports are for coordinators and administrators. You are logged in as {name}, a support worker account.',
      reportHeading: 'Need and supply',
      filtersHeading: 'Choose the report',
      region: 'Region',
      allMyRegions: 'All my regions',
      allRegions: 'All regions',
      since: 'From',
      until: 'To',
      unmetKm: 'Distance limit (km)',
      unmetHint: 'A need is unmet when the search found nothing, found help only in another language, or the nearest in-person help is farther than this.',
      update: 'Update',
      downloadCsv: 'Download CSV',
      loading: 'Loading the report…',
      loaded: 'Report updated: {what}.',
      period: '{since} – {until} · {region} · distance limit {km} km',
      summaryHeading: 'In this period',
      unmetReasons: 'Of the unmet needs: {none} with no help found, {distance} too far, {language} not in their language.',
      noConversations: 'No conversations in this period.',
      weeksHeading: 'Conversations and unmet needs per week',
      weeksDesc: '{week}: conversations {conversations}, unmet needs {unmet}',
      gapsHeading: 'Unmet needs by region and language',
      gapsEmpty: 'No unmet needs in this period.',
      gapsDesc: '{what}: unmet needs {unmet} (no help found {none}, too far {distance}, not in their language {language})',
      chartScroll: '{what} – scroll sideways',
      tablesHeading: 'The figures',
      regionCaption: 'By region and language, {period}',
      topicCaption: 'By topic, {period}',
      feedbackHeading: 'Feedback',
      feedbackCounts: '👍 {up} · 👎 {down}',
      noComments: 'No comments in this period.',
      noRows: 'No rows.',
      col_region: 'Region',
      col_language: 'Language',
      col_topic: 'Topic',
      m_conversations: 'Conversations',
      m_needs: 'Needs',
      m_recommendations: 'Recommendations',
      m_unmet: 'Unmet needs',
      m_unmet_none: 'No help found',
      m_unmet_distance: 'Too far',
      m_unmet_language: 'Not in their language',
      m_handoffs: 'Handoffs to a worker',
      m_callbacks: 'Call-back requests',
      m_handoffs_helped: 'Helped by a worker',
      m_handoffs_unanswered: 'Unanswered',
      week: 'week {week}/{year}',
      weekShort: 'W{week}',
      regionUnknown: 'Region unknown',
      regionCode: 'region {code}',
      languageUnknown: 'language unknown',
      noTopic: 'topic unknown',
      err_since: 'Enter the first day.',
      err_until: 'Enter the last day.',
      err_order: 'The first day is after the last day.',
      err_too_long: 'A report covers at most {days} days.',
      err_km: 'The distance limit is 1–500 km.',
      err_bad_query: 'The report could not be made:',
      err_outside_regions: 'That region is not one of yours.',
      err_wrong_role: 'Reports are for coordinators and administrators.'
    }
  });

  /* ------------------------------------------------------------------ *
   * 2. State and helpers
   * ------------------------------------------------------------------ */

  var state = staff.state; // lang, agent, csrf: kept by the shared script
  state.report = null; // the last answer of GET /reports, normalized
  state.loading = 0; // the number of the latest request: older answers are dropped
  state.chartWidth = 0;
  state.resizeTimer = null;

  // What this file uses of the shared script, as an import would name it.
  var ui = staff.ui, t = staff.t, el = staff.el, isObject = staff.isObject, str = staff.str,
    list = staff.list, showError = staff.showError, errorText = staff.errorText;
  // showError(node, text, detail): '' clears it; `detail` is the server's own message.

  /** A new SVG element with attributes and optional text (always as text). */
  function svgEl(tag, attributes, text) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, String(attributes[name]));
    });
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function count(value) {
    return typeof value === 'number' && isFinite(value) && value > 0 ? value : 0;
  }

  function formatNumber(value) {
    try {
      return new Intl.NumberFormat(LOCALES[state.lang]).format(value);
    } catch (e) {
      return String(value);
    }
  }

  /** "2026-11-23" as a date of the current language. */
  function formatDate(iso) {
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
    if (!parts) {
      return iso;
    }
    var date = new Date(Date.UTC(+parts[1], +parts[2] - 1, +parts[3]));
    var options = state.lang === 'en' ? { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' } : { day: 'numeric', month: 'numeric', year: 'numeric', timeZone: 'UTC' };
    try {
      return date.toLocaleDateString(LOCALES[state.lang], options);
    } catch (e) {
      return iso;
    }
  }

  /** "2026-W48" as "week 48/2026" (or the short axis label "W48"). */
  function weekName(week, short) {
    var parts = /^(\d{4})-W(\d{1,2})$/.exec(week);
    if (!parts) {
      return week;
    }
    return t(short ? 'weekShort' : 'week', { week: +parts[2], year: parts[1] });
  }

  function regionName(code) {
    if (!code) {
      return t('regionUnknown');
    }
    var regions = state.report ? state.report.regions : [];
    for (var i = 0; i < regions.length; i++) {
      if (regions[i].code === code) {
        return state.lang === 'sv' && regions[i].name_sv ? regions[i].name_sv : regions[i].name_fi || code;
      }
    }
    return t('regionCode', { code: code });
  }

  function languageName(code) {
    return LANGS.indexOf(code) !== -1 ? t('lang_' + code) : t('languageUnknown');
  }

  function topicName(code) {
    return code ? staff.topicName(code) : t('noTopic');
  }

  /* ------------------------------------------------------------------ *
   * 3. Logging in and out
   * ------------------------------------------------------------------ */

  /** Logged in as a coordinator or administrator: the report of the last four weeks. */
  function loggedIn(moveFocus) {
    relabelAllRegions();
    if (moveFocus) {
      ui.reportHeading.focus();
    }
    loadReport();
  }

  /** The session is gone: nothing of it is left for the next one. */
  function loggedOut() {
    state.report = null;
    state.loading += 1; // answers still on their way are dropped
    ui.results.hidden = true;
    ui.status.textContent = '';
    showError(ui.filtersError, '');
    while (ui.region.options.length > 1) {
      ui.region.remove(1); // the next account may see other regions
    }
  }

  /* ------------------------------------------------------------------ *
   * 4. The filters
   * ------------------------------------------------------------------ */

  function isoDate(date) {
    function two(n) {
      return (n < 10 ? '0' : '') + n;
    }
    return date.getFullYear() + '-' + two(date.getMonth() + 1) + '-' + two(date.getDate());
  }

  /** The last four weeks up to today, and the default distance, where the fields are empty. */
  function fillDefaults() {
    var today = new Date();
    var first = new Date(today.getFullYear(), today.getMonth(), today.getDate() - (DEFAULT_DAYS - 1));
    if (!ui.until.value) {
      ui.until.value = isoDate(today);
    }
    if (!ui.since.value) {
      ui.since.value = isoDate(first);
    }
    if (!ui.unmetKm.value) {
      ui.unmetKm.value = String(DEFAULT_KM);
    }
  }

  function daysBetween(since, until) {
    return Math.round((Date.parse(until + 'T00:00:00Z') - Date.parse(since + 'T00:00:00Z')) / 86400000);
  }

  /** The query of the filters, or null after telling what is wrong with them. */
  function readFilters() {
    var since = ui.since.value;
    var until = ui.until.value;
    var km = Number(ui.unmetKm.value);
    var problem = null;
    var field = null;
    [ui.since, ui.until, ui.unmetKm].forEach(function (input) {
      input.removeAttribute('aria-invalid');
    });
    if (!since) {
      problem = t('err_since');
      field = ui.since;
    } else if (!until) {
      problem = t('err_until');
      field = ui.until;
    } else if (since > until) {
      problem = t('err_order');
      field = ui.since;
    } else if (daysBetween(since, until) >= MAX_DAYS) {
      problem = t('err_too_long', { days: MAX_DAYS });
      field = ui.since;
    } else if (ui.unmetKm.value === '' || !isFinite(km) || km < 1 || km > 500) {
      problem = t('err_km');
      field = ui.unmetKm;
    }
    if (problem) {
      field.setAttribute('aria-invalid', 'true');
      showError(ui.filtersError, problem);
      field.focus();
      return null;
    }
    var query = { since: since, until: until, unmet_km: String(km) };
    if (ui.region.value) {
      query.region = ui.region.value;
    }
    return query;
  }

  function queryString(query) {
    return Object.keys(query).map(function (name) {
      return encodeURIComponent(name) + '=' + encodeURIComponent(query[name]);
    }).join('&');
  }

  /** "All regions" for those who see every region, "All my regions" for the others. */
  function relabelAllRegions() {
    var everywhere = state.agent && (state.agent.role === 'admin' || !state.agent.region_codes.length);
    ui.region.options[0].textContent = t(everywhere ? 'allRegions' : 'allMyRegions');
  }

  /** The regions the API says are mine, in the current language; the choice is kept. */
  function renderRegionOptions() {
    var chosen = ui.region.value;
    while (ui.region.options.length > 1) {
      ui.region.remove(1);
    }
    relabelAllRegions();
    var regions = state.report ? state.report.regions.slice() : [];
    regions.sort(function (a, b) {
      return regionName(a.code).localeCompare(regionName(b.code), LOCALES[state.lang]);
    });
    regions.forEach(function (region) {
      var option = el('option', null, regionName(region.code));
      option.value = region.code;
      ui.region.appendChild(option);
    });
    ui.region.value = chosen;
    if (ui.region.value !== chosen) {
      ui.region.value = '';
    }
  }

  function onFiltersSubmit(event) {
    event.preventDefault();
    loadReport();
  }

  /* ------------------------------------------------------------------ *
   * 5. Loading the report
   * ------------------------------------------------------------------ */

  function loadReport() {
    fillDefaults();
    var query = readFilters();
    if (!query) {
      return;
    }
    showError(ui.filtersError, '');
    state.loading += 1;
    var number = state.loading;
    ui.status.textContent = t('loading');
    ui.status.classList.remove('sr'); // seen while loading; then only heard, the period says it
    ui.results.setAttribute('aria-busy', 'true');
    // A lost session leads back to the login form (staff.authed), which drops this answer.
    staff.authed('GET', '/reports?' + queryString(query)).then(function (result) {
      if (number !== state.loading) {
        return; // a newer request is on its way, or the user logged out
      }
      ui.results.removeAttribute('aria-busy');
      ui.status.classList.add('sr');
      if (!result.ok || !isObject(result.data)) {
        ui.status.textContent = '';
        showError(ui.filtersError, errorText(result.code), result.code === 'bad_query' ? result.message : '');
        return;
      }
      state.report = normalizeReport(result.data, query);
      renderRegionOptions();
      ui.results.hidden = false; // first: the charts are laid out to its width
      renderReport();
      ui.status.textContent = t('loaded', { what: periodText() });
    });
  }

  /** Keep only known fields of the expected types (the renderers trust these). */
  function normalizeReport(data, query) {
    var totals = isObject(data.totals) ? data.totals : {};
    function metrics(source, keys) {
      var row = {};
      keys.forEach(function (key) {
        row[key] = str(source[key]);
      });
      METRICS.forEach(function (metric) {
        row[metric] = count(source[metric]);
      });
      return row;
    }
    function rows(value, keys) {
      return list(value).filter(isObject).map(function (row) {
        return metrics(row, keys);
      });
    }
    return {
      since: str(data.since) || query.since,
      until: str(data.until) || query.until,
      unmetKm: typeof data.unmet_km === 'number' ? data.unmet_km : Number(query.unmet_km),
      region: query.region || '',
      query: query,
      regions: list(data.regions).filter(isObject).map(function (r) {
        return { code: str(r.code), name_fi: str(r.name_fi), name_sv: str(r.name_sv) };
      }).filter(function (r) {
        return r.code;
      }),
      weeks: rows(totals.week, ['week']),
      regionLanguage: rows(totals.region_language, ['region', 'language']),
      topics: rows(totals.topic, ['topic']),
      feedback: ['feedback_up', 'feedback_down'].reduce(function (sums, key) {
        sums[key] = list(totals.week).filter(isObject).reduce(function (n, week) {
          return n + (typeof week[key] === 'number' ? week[key] : 0);
        }, 0);
        return sums;
      }, {}),
      comments: list(data.comments).filter(isObject).map(function (c) {
        return { week: str(c.week), region: str(c.region), language: str(c.language), text: str(c.text) };
      })
    };
  }

  /** "23.11.2026–29.11.2026 · Pohjanmaa · distance limit 30 km": what the report covers. */
  function periodText() {
    var report = state.report;
    return t('period', {
      since: formatDate(report.since),
      until: formatDate(report.until),
      region: report.region ? regionName(report.region) : ui.region.options[0].textContent,
      km: formatNumber(report.unmetKm)
    });
  }

  function renderReport() {
    var report = state.report;
    if (!report) {
      return;
    }
    ui.period.textContent = periodText();
    ui.csvLink.href = staff.API + '/reports.csv?' + queryString(report.query);
    renderFigures();
    renderTables();
    renderFeedback();
    renderCharts();
  }

  /** 👍 / 👎 counts and the comments (masked by the server), newest week first; all as text. */
  function renderFeedback() {
    var report = state.report;
    ui.feedbackCounts.textContent = t('feedbackCounts', {
      up: formatNumber(report.feedback.feedback_up),
      down: formatNumber(report.feedback.feedback_down)
    });
    ui.comments.textContent = '';
    if (!report.comments.length) {
      ui.comments.appendChild(el('li', 'empty', t('noComments')));
      return;
    }
    report.comments.slice().reverse().forEach(function (c) {
      var where = [c.week, regionName(c.region), languageName(c.language)].join(' · ');
      var item = el('li');
      item.appendChild(el('span', 'comment-where', where + ': '));
      item.appendChild(el('q', null, c.text));
      ui.comments.appendChild(item);
    });
  }

  /* ------------------------------------------------------------------ *
   * 6. Figures and tables
   * ------------------------------------------------------------------ */

  function sum(rows) {
    var total = {};
    METRICS.forEach(function (metric) {
      total[metric] = 0;
    });
    rows.forEach(function (row) {
      METRICS.forEach(function (metric) {
        total[metric] += row[metric];
      });
    });
    return total;
  }

  function renderFigures() {
    var total = sum(state.report.weeks);
    ui.figures.textContent = '';
    FIGURES.forEach(function (metric) {
      var item = el('div', 'figure figure-' + metric);
      item.setAttribute('data-metric', metric);
      item.appendChild(el('dt', null, t('m_' + metric)));
      item.appendChild(el('dd', null, formatNumber(total[metric])));
      ui.figures.appendChild(item);
    });
    if (!total.conversations && !total.needs && !total.handoffs && !total.callbacks) {
      ui.unmetReasons.textContent = t('noConversations');
    } else {
      ui.unmetReasons.textContent = total.unmet ? t('unmetReasons', {
        none: formatNumber(total.unmet_none),
        distance: formatNumber(total.unmet_distance),
        language: formatNumber(total.unmet_language)
      }) : '';
    }
  }

  var LANGUAGE_ORDER = ['fi', 'sv', 'en', ''];

  /** Known regions by name, the unknown region last; languages fi, sv, en, unknown. */
  function byRegionAndLanguage(a, b) {
    if (!a.region !== !b.region) {
      return a.region ? -1 : 1;
    }
    var names = regionName(a.region).localeCompare(regionName(b.region), LOCALES[state.lang]);
    return names || LANGUAGE_ORDER.indexOf(a.language) - LANGUAGE_ORDER.indexOf(b.language);
  }

  /** The most needed topics first, the unknown topic last. */
  function byNeeds(a, b) {
    if (!a.topic !== !b.topic) {
      return a.topic ? -1 : 1;
    }
    return b.needs - a.needs || topicName(a.topic).localeCompare(topicName(b.topic), LOCALES[state.lang]);
  }

  function renderTables() {
    var period = formatDate(state.report.since) + '–' + formatDate(state.report.until);
    renderTable(ui.regionTable, t('regionCaption', { period: period }), [
      { label: t('col_region'), text: function (row) { return regionName(row.region); } },
      { label: t('col_language'), text: function (row) { return languageName(row.language); } }
    ], state.report.regionLanguage.slice().sort(byRegionAndLanguage));
    renderTable(ui.topicTable, t('topicCaption', { period: period }), [
      { label: t('col_topic'), text: function (row) { return topicName(row.topic); } }
    ], state.report.topics.slice().sort(byNeeds));
  }

  /** A table: the `keys` as row headers, then one column per metric. */
  function renderTable(table, caption, keys, rows) {
    table.caption.textContent = caption;
    var head = table.tHead;
    var body = table.tBodies[0];
    head.textContent = '';
    body.textContent = '';
    var header = el('tr');
    keys.forEach(function (key) {
      var th = el('th', null, key.label);
      th.scope = 'col';
      header.appendChild(th);
    });
    METRICS.forEach(function (metric) {
      var th = el('th', 'num', t('m_' + metric));
      th.scope = 'col';
      header.appendChild(th);
    });
    head.appendChild(header);
    if (!rows.length) {
      var empty = el('td', 'empty', t('noRows'));
      empty.colSpan = keys.length + METRICS.length;
      var line = el('tr');
      line.appendChild(empty);
      body.appendChild(line);
      return;
    }
    rows.forEach(function (row) {
      var tr = el('tr');
      keys.forEach(function (key) {
        var th = el('th', null, key.text(row));
        th.scope = 'row';
        tr.appendChild(th);
      });
      METRICS.forEach(function (metric) {
        tr.appendChild(el('td', 'num' + (metric === 'unmet' && row.unmet ? ' is-unmet' : ''), formatNumber(row[metric])));
      });
      body.appendChild(tr);
    });
  }

  /* ------------------------------------------------------------------ *
   * 7. Charts: inline SVG, laid out in CSS pixels at the page's text size
   * ------------------------------------------------------------------ */

  function renderCharts() {
    state.chartWidth = ui.weeksChart.clientWidth;
    renderWeekChart();
    renderGapsChart();
  }

  /** The font size of a chart box in pixels: everything in it is measured in it. */
  function fontSize(box) {
    return parseFloat(window.getComputedStyle(box).fontSize) || 14;
  }

  /** An empty chart with its text alternative: a <title> (the name) and a <desc> (every value). */
  function newChart(box, id, width, height, title, description) {
    box.textContent = '';
    var svg = svgEl('svg', {
      'class': 'chart-svg',
      id: id,
      width: width,
      height: height,
      viewBox: '0 0 ' + width + ' ' + height,
      role: 'img',
      'aria-labelledby': id + '-title',
      'aria-describedby': id + '-desc'
    });
    svg.appendChild(svgEl('title', { id: id + '-title' }, title));
    svg.appendChild(svgEl('desc', { id: id + '-desc' }, description));
    // Unmet needs are hatched as well as red: the two bars differ without colour too.
    var defs = svgEl('defs');
    var pattern = svgEl('pattern', {
      id: id + '-hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)'
    });
    pattern.appendChild(svgEl('rect', { 'class': 'hatch-ground', width: 6, height: 6 }));
    pattern.appendChild(svgEl('rect', { 'class': 'hatch-line', width: 2, height: 6 }));
    defs.appendChild(pattern);
    svg.appendChild(defs);
    box.appendChild(svg);
    return svg;
  }

  /** A chart wider than its box scrolls; then the keyboard must reach it too. */
  function scrollable(box, name) {
    if (box.scrollWidth > box.clientWidth + 1) {
      box.tabIndex = 0;
      box.setAttribute('role', 'region');
      box.setAttribute('aria-label', t('chartScroll', { what: name }));
    } else {
      box.removeAttribute('tabindex');
      box.removeAttribute('role');
      box.removeAttribute('aria-label');
    }
  }

  /** Every ISO week ("2026-W48") with a day in the period, in order. */
  function periodWeeks(since, until) {
    var weeks = [];
    var day = Date.parse(since + 'T00:00:00Z');
    var last = Date.parse(until + 'T00:00:00Z');
    if (isNaN(day) || isNaN(last)) {
      return weeks;
    }
    for (; day <= last; day += 86400000) {
      var week = isoWeek(new Date(day));
      if (weeks[weeks.length - 1] !== week) {
        weeks.push(week);
      }
    }
    return weeks;
  }

  /** The ISO week of a UTC date: the week's Thursday decides its year. */
  function isoWeek(date) {
    var thursday = new Date(date.getTime());
    thursday.setUTCDate(thursday.getUTCDate() + 3 - ((thursday.getUTCDay() + 6) % 7));
    var year = thursday.getUTCFullYear();
    var first = new Date(Date.UTC(year, 0, 4)); // 4 January is always in week 1
    first.setUTCDate(first.getUTCDate() + 3 - ((first.getUTCDay() + 6) % 7));
    var week = 1 + Math.round((thursday.getTime() - first.getTime()) / (7 * 86400000));
    return year + '-W' + (week < 10 ? '0' : '') + week;
  }

  /** Round axis steps: 1, 2, 5, 10, 20, 50 … so that there are about four of them. */
  function axisTicks(max) {
    var rough = Math.max(1, max / 4);
    var power = Math.pow(10, Math.floor(Math.log10(rough)));
    var step = [1, 2, 5, 10].map(function (m) {
      return m * power;
    }).filter(function (s) {
      return s >= rough;
    })[0];
    step = Math.max(1, step);
    var ticks = [];
    for (var v = 0; v < max + step; v += step) {
      ticks.push(v);
      if (v >= max) {
        break;
      }
    }
    return ticks;
  }

  /** Conversations and unmet needs side by side, one pair of columns per week of the period. */
  function renderWeekChart() {
    var report = state.report;
    var box = ui.weeksChart;
    var byWeek = {};
    report.weeks.forEach(function (row) {
      byWeek[row.week] = row;
    });
    var weeks = periodWeeks(report.since, report.until);
    Object.keys(byWeek).forEach(function (week) {
      if (weeks.indexOf(week) === -1) {
        weeks.push(week);
      }
    });
    weeks.sort();
    var values = weeks.map(function (week) {
      var row = byWeek[week];
      return { week: week, conversations: row ? row.conversations : 0, unmet: row ? row.unmet : 0 };
    });
    var title = t('weeksHeading');
    var description = values.map(function (v) {
      return t('weeksDesc', { week: weekName(v.week), conversations: formatNumber(v.conversations), unmet: formatNumber(v.unmet) });
    }).join('; ');

    var f = fontSize(box);
    var max = 1;
    values.forEach(function (v) {
      max = Math.max(max, v.conversations, v.unmet);
    });
    var ticks = axisTicks(max);
    var top = ticks[ticks.length - 1];
    var axis = Math.ceil(formatNumber(top).length * 0.65 * f + 0.8 * f);
    var padTop = Math.ceil(1.6 * f);
    var plot = Math.ceil(11 * f);
    var padBottom = Math.ceil(2.2 * f);
    var labelWidth = weekName(weeks[0] || '', true).length * 0.62 * f + 0.6 * f;
    var group = Math.max(3 * f, (Math.max(box.clientWidth, 12 * f) - axis - f) / Math.max(1, values.length));
    var width = Math.floor(axis + group * values.length + f);
    var height = padTop + plot + padBottom;
    var base = padTop + plot;
    var svg = newChart(box, 'weeks-svg', width, height, title, description);

    ticks.forEach(function (tick) {
      var y = base - (tick / top) * plot;
      svg.appendChild(svgEl('line', { 'class': tick ? 'grid' : 'axis', x1: axis, x2: width, y1: y, y2: y }));
      svg.appendChild(svgEl('text', { 'class': 'tick', x: axis - 0.4 * f, y: y + 0.35 * f, 'text-anchor': 'end' }, formatNumber(tick)));
    });
    var every = Math.max(1, Math.ceil(labelWidth / group));
    var bar = Math.min(group * 0.34, 2.6 * f);
    var gap = Math.min(0.3 * f, group * 0.05);
    values.forEach(function (v, i) {
      var g = svgEl('g', { 'class': 'week', 'data-week': v.week });
      var middle = axis + group * (i + 0.5);
      column(g, v.week, 'conversations', middle - gap / 2 - bar, v.conversations);
      column(g, v.week, 'unmet', middle + gap / 2, v.unmet);
      if (i % every === 0) {
        g.appendChild(svgEl('text', { 'class': 'week-label', x: middle, y: base + 1.4 * f, 'text-anchor': 'middle' }, weekName(v.week, true)));
      }
      svg.appendChild(g);
    });
    scrollable(box, title);

    /** One column with its value above it; its <title> shows on hover. */
    function column(g, week, metric, x, value) {
      var h = value ? Math.max(2, (value / top) * plot) : 0;
      var rect = svgEl('rect', { 'class': 'bar bar-' + metric, 'data-metric': metric, x: x, y: base - h, width: bar, height: h });
      if (metric === 'unmet') {
        rect.setAttribute('fill', 'url(#weeks-svg-hatch)');
      }
      rect.appendChild(svgEl('title', null, weekName(week) + ': ' + t('m_' + metric) + ' ' + formatNumber(value)));
      g.appendChild(rect);
      if (value) { // a zero is the axis itself; the <desc> and <title> still say it
        g.appendChild(svgEl('text', {
          'class': 'bar-value', 'data-metric': metric, x: x + bar / 2, y: base - h - 0.3 * f, 'text-anchor': 'middle'
        }, formatNumber(value)));
      }
    }
  }

  /** Unmet needs by region and language: one labelled horizontal bar each, the most first. */
  function renderGapsChart() {
    var box = ui.gapsChart;
    var rows = state.report.regionLanguage.filter(function (row) {
      return row.unmet > 0;
    }).sort(function (a, b) {
      return b.unmet - a.unmet || byRegionAndLanguage(a, b);
    });
    ui.gapsEmpty.hidden = rows.length > 0;
    if (!rows.length) {
      box.textContent = '';
      scrollable(box, '');
      return;
    }
    function label(row) {
      return regionName(row.region) + ' · ' + languageName(row.language);
    }
    function detail(row) {
      return t('gapsDesc', {
        what: label(row),
        unmet: formatNumber(row.unmet),
        none: formatNumber(row.unmet_none),
        distance: formatNumber(row.unmet_distance),
        language: formatNumber(row.unmet_language)
      });
    }
    var title = t('gapsHeading');
    var f = fontSize(box);
    var max = rows[0].unmet;
    var valueSpace = (formatNumber(max).length * 0.65 + 1) * f;
    var width = Math.floor(Math.max(Math.min(box.clientWidth, 60 * f), 14 * f));
    var rowHeight = Math.ceil(3.2 * f);
    var barHeight = Math.ceil(1.3 * f);
    var svg = newChart(box, 'gaps-svg', width, rowHeight * rows.length + Math.ceil(0.4 * f), title, rows.map(detail).join('; '));
    rows.forEach(function (row, i) {
      var top = i * rowHeight;
      var length = Math.max(2, (row.unmet / max) * (width - valueSpace - 2));
      var g = svgEl('g', { 'class': 'gap', 'data-region': row.region, 'data-language': row.language });
      g.appendChild(svgEl('text', { 'class': 'gap-label', x: 0, y: top + 1.15 * f }, label(row)));
      var rect = svgEl('rect', {
        'class': 'bar bar-unmet', x: 1, y: top + 1.55 * f, width: length, height: barHeight, fill: 'url(#gaps-svg-hatch)'
      });
      rect.appendChild(svgEl('title', null, detail(row)));
      g.appendChild(rect);
      g.appendChild(svgEl('text', { 'class': 'bar-value', x: length + 0.5 * f, y: top + 1.55 * f + barHeight * 0.78 }, formatNumber(row.unmet)));
      svg.appendChild(g);
    });
    scrollable(box, title);
  }

  /** After the window changes size (or zoom): the charts again, to the new width. */
  function onResize() {
    clearTimeout(state.resizeTimer);
    state.resizeTimer = setTimeout(function () {
      if (state.report && !ui.results.hidden && ui.weeksChart.clientWidth !== state.chartWidth) {
        renderCharts();
      }
    }, 150);
  }

  /* ------------------------------------------------------------------ *
   * 8. Language
   * ------------------------------------------------------------------ */

  /** What is shown is built again from the last answer, in the new language. */
  function relabel() {
    if (state.agent) {
      relabelAllRegions();
    }
    if (state.report) {
      renderRegionOptions();
      renderReport();
    }
  }

  /* ------------------------------------------------------------------ *
   * 9. Start
   * ------------------------------------------------------------------ */

  function listen() {
    ui.filters.addEventListener('submit', onFiltersSubmit);
    [ui.since, ui.until, ui.unmetKm].forEach(function (input) {
      input.addEventListener('input', function () {
        input.removeAttribute('aria-invalid');
      });
    });
    window.addEventListener('resize', onResize);
  }

  staff.start({
    view: 'reportView',
    ids: [
      'report-view', 'report-heading', 'filters', 'region', 'since', 'until', 'unmet-km', 'update',
      'filters-error', 'status', 'results', 'period', 'csv-link', 'figures', 'unmet-reasons',
      'weeks-chart', 'gaps-chart', 'gaps-empty', 'region-table', 'topic-table', 'feedback-counts',
      'comments'
    ],
    title: 'pageTitle',
    overseersOnly: true,
    topics: true,
    listen: listen,
    loggedIn: loggedIn,
    loggedOut: loggedOut,
    relabel: relabel
  });
})(window.DigitukiStaff);
