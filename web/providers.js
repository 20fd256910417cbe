/*
 * Digituki provider upkeep for coordinators — one plain script: no build step,
 * no dependencies. Served with providers.html and providers.css at /providers.
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
 *   1. configuration and labels   every text in fi / sv / en, the columns' names
 *   2. state and DOM helpers      data is only ever set as text
 *   3. the API                    fetch with the CSRF header; errors as codes
 *   4. logging in and out
 *   5. the list                   search, filter, the table
 *   6. the edit form              built from the provider's columns; only changes are sent
 *   7. active or not              with a confirmation
 *   8. upload                     preview, then apply
 *   9. language
 *  10. start
 *
 * Security: text from the server and from files is put on the page only with
 * textContent / createTextNode / setAttribute. No innerHTML, no eval, no inline
 * handlers. The CSRF token is kept in memory: GET /api/v1/me gives it again
 * after a reload.
 */
(function () {
  'use strict';

  /* ------------------------------------------------------------------ *
   * 1. Configuration and labels
   * ------------------------------------------------------------------ */

  var LANGS = ['fi', 'sv', 'en'];
  var API = '/api/v1';
  var OVERSEERS = ['coordinator', 'admin'];
  var LANG_KEY = 'digituki.console.lang'; // shared with the console: one choice for every page
  var MAX_UPLOAD = 5 * 1024 * 1024; // the API's limit (providers_api.MAX_UPLOAD)
  var SEARCH_DELAY_MS = 300; // typing in the search box waits this long before asking
  var SAFE_COLUMN = /^[a-z][a-z0-9_]*$/; // column names become element ids

  /** Columns holding a ';'-separated list, booleans, and long texts. */
  var LIST_COLUMNS = ['support_forms', 'topics', 'languages', 'target_groups', 'service_area'];
  var BOOLEAN_COLUMNS = ['free_of_charge', 'wheelchair_accessible', 'booking_required'];
  var LONG_COLUMNS = ['description_fi', 'description_sv', 'description_en'];
  var BOOLEAN_VALUES = ['true', 'false', ''];

  var LABELS = {
    fi: {
      title: 'Digituki – palveluntarjoajat',
      skip: 'Siirry sisältöön',
      brandSub: 'Palveluntarjoajien ylläpito koordinaattoreille',
      language: 'Kieli',
      toConsole: 'Työnäkymä',
      toConsoleLong: 'Siirry tukihenkilön työnäkymään',
      logout: 'Kirjaudu ulos',
      loginHeading: 'Kirjaudu ylläpitämään palveluntarjoajia',
      username: 'Käyttäjätunnus',
      password: 'Salasana',
      login: 'Kirjaudu',
      loginMissing: 'Kirjoita käyttäjätunnus ja salasana.',
      sessionEnded: 'Istunto on päättynyt. Kirjaudu uudelleen.',
      loggedOut: 'Olet kirjautunut ulos.',
      denied: 'Vain koordinaattorit ja ylläpitäjät voivat ylläpitää palveluntarjoajia. Olet kirjautunut tunnuksella {name}, joka on tukihenkilön tunnus.',
      pageHeading: 'Palveluntarjoajat',
      listHeading: 'Alueidesi palveluntarjoajat',
      search: 'Haku',
      searchHint: 'Sanoja nimestä, tunnisteesta tai kunnasta.',
      show: 'Näytä',
      showAll: 'Kaikki',
      showActive: 'Vain aktiiviset',
      showInactive: 'Vain poistetut käytöstä',
      searchButton: 'Hae',
      listCaption: 'Palveluntarjoajat; valitse muokattava',
      colName: 'Nimi',
      colMunicipality: 'Kunta',
      colForms: 'Tukimuodot',
      colTopics: 'Aiheet',
      colLanguages: 'Kielet',
      colActive: 'Aktiivinen',
      listEmpty: 'Yksikään palveluntarjoaja ei vastaa hakua.',
      loading: 'Ladataan…',
      totalOne: '1 palveluntarjoaja',
      totalMany: '{n} palveluntarjoajaa',
      totalShown: 'Näytetään {shown}/{n} palveluntarjoajaa. Tarkenna hakua.',
      activeYes: 'Aktiivinen',
      activeNo: 'Poistettu käytöstä',
      editorHeading: 'Muokkaa: {name}',
      stateActive: 'Aktiivinen: botti ehdottaa tätä',
      stateInactive: 'Poistettu käytöstä: botti ei ehdota tätä',
      source: 'Lähde: {source}',
      hintList: 'Useita arvoja: erota puolipisteellä (;).',
      bool_true: 'Kyllä',
      bool_false: 'Ei',
      bool_: 'Ei tiedossa',
      save: 'Tallenna muutokset',
      closeEditor: 'Takaisin luetteloon',
      saving: 'Tallennetaan…',
      saved: 'Tallennettu: {name}.',
      nothingChanged: 'Ei tallennettavaa: mitään kenttää ei muutettu.',
      notSaved: 'Ei tallennettu. Korjaa merkityt kentät: {fields}.',
      notSavedOther: 'Ei tallennettu: {message}',
      checkNotes: 'Huomioita tarkistuksesta (tallennettu silti):',
      activityHeading: 'Botin haussa',
      activeHint: 'Botti ehdottaa tätä palveluntarjoajaa ihmisille.',
      inactiveHint: 'Botti ei ehdota tätä palveluntarjoajaa. Mitään ei ole poistettu.',
      deactivate: 'Poista käytöstä',
      activate: 'Ota uudelleen käyttöön',
      confirmDeactivate: 'Poistetaanko ”{name}” käytöstä? Botti lakkaa ehdottamasta sitä. Mitään ei poisteta, ja sen voi ottaa uudelleen käyttöön.',
      confirmActivate: 'Otetaanko ”{name}” uudelleen käyttöön? Botti alkaa taas ehdottaa sitä.',
      yesDeactivate: 'Kyllä, poista käytöstä',
      yesActivate: 'Kyllä, ota käyttöön',
      cancel: 'Peruuta',
      deactivated: '”{name}” on nyt poistettu käytöstä.',
      activated: '”{name}” on taas käytössä.',
      uploadHeading: 'Tiedoston lataus',
      uploadHint: 'CSV- tai YAML-tiedosto tuontimuodossa (komennon ”digituki providers import” sarakkeet). Näet muutokset ennen kuin mitään tallennetaan.',
      file: 'Tiedosto',
      format: 'Muoto',
      preview: 'Esikatsele',
      chooseFile: 'Valitse ensin tiedosto.',
      tooLarge: 'Tiedosto on yli 5 Mt. Jaa se pienempiin tiedostoihin.',
      unreadable: 'Tiedostoa ei voitu lukea: {message}',
      reading: 'Luetaan tiedostoa…',
      previewHeading: 'Mitä tiedosto muuttaisi',
      fig_rows: 'Rivejä',
      fig_new: 'Uusia',
      fig_changed: 'Muuttuvia',
      fig_unchanged: 'Ennallaan',
      outsideHeading: 'Alueidesi ulkopuolella',
      errorsHeading: 'Virheet',
      newHeading: 'Uudet palveluntarjoajat',
      changedHeading: 'Muuttuvat palveluntarjoajat',
      warningsHeading: 'Varoitukset (eivät estä latausta)',
      issue: 'Rivi {line}, {column}: {message}',
      reactivated: 'otetaan uudelleen käyttöön',
      previewReady: 'Esikatselu valmis: {new} uutta, {changed} muuttuvaa, {unchanged} ennallaan.',
      blockedErrors: 'Tiedostoa ei voi ottaa käyttöön: siinä on virheitä. Korjaa ne ja esikatsele uudelleen.',
      blockedOutside: 'Tiedostoa ei voi ottaa käyttöön: siinä on palveluntarjoajia alueidesi ulkopuolelta ({ids}).',
      applyReady: 'Tallentaa esikatsellun tiedoston: {new} uutta ja {changed} muuttuvaa palveluntarjoajaa.',
      applyBlocked: 'Ei käytettävissä: tiedostossa on virheitä tai palveluntarjoajia alueidesi ulkopuolelta.',
      applyNothing: 'Ei tallennettavaa: tiedosto ei muuta mitään.',
      apply: 'Ota käyttöön',
      applying: 'Tallennetaan…',
      applied: 'Tallennettu: {new} uutta ja {changed} muuttunutta palveluntarjoajaa.',
      err_bad_credentials: 'Väärä käyttäjätunnus tai salasana.',
      err_too_many_attempts: 'Liian monta yritystä. Odota minuutti ja yritä uudelleen.',
      err_too_many_attempts_wait: 'Liian monta yritystä. Yritä uudelleen {m} minuutin kuluttua.',
      err_network: 'Palvelimeen ei saatu yhteyttä. Tarkista yhteys ja yritä uudelleen.',
      err_other: 'Jokin meni vikaan. Yritä uudelleen.',
      err_wrong_role: 'Vain koordinaattorit ja ylläpitäjät voivat ylläpitää palveluntarjoajia.',
      err_outside_regions: 'Tämä palveluntarjoaja ei ole alueillasi.',
      err_outside_edit: 'Ei tallennettu: kunta on alueidesi ulkopuolella. Voit ylläpitää vain omien alueidesi palveluntarjoajia.',
      err_not_found: 'Tätä palveluntarjoajaa ei enää ole.',
      err_changed: 'Ei tallennettu: joku muu tallensi tämän palveluntarjoajan sillä välin (muuttuneet kentät: {fields}). Hänen muutoksensa näkyvät nyt, omasi ovat yhä lomakkeella. Tarkista ja tallenna uudelleen.',
      err_too_large: 'Tiedosto on yli 5 Mt. Jaa se pienempiin tiedostoihin.',
      col_id: 'Tunniste',
      col_name_fi: 'Nimi suomeksi',
      col_name_sv: 'Nimi ruotsiksi',
      col_name_en: 'Nimi englanniksi',
      col_organisation: 'Organisaatio',
      col_org_type: 'Organisaation tyyppi',
      col_municipality: 'Kunta',
      col_street_address: 'Katuosoite',
      col_postal_code: 'Postinumero',
      col_lat: 'Leveysaste',
      col_lon: 'Pituusaste',
      col_support_forms: 'Tukimuodot',
      col_topics: 'Aiheet',
      col_languages: 'Kielet',
      col_target_groups: 'Kohderyhmät',
      col_service_area: 'Palvelualue',
      col_opening_hours: 'Aukioloajat',
      col_phone: 'Puhelin',
      col_email: 'Sähköposti',
      col_website: 'Verkkosivu',
      col_free_of_charge: 'Maksuton',
      col_wheelchair_accessible: 'Esteetön pyörätuolilla',
      col_booking_required: 'Ajanvaraus tarvitaan',
      col_description_fi: 'Kuvaus suomeksi',
      col_description_sv: 'Kuvaus ruotsiksi',
      col_description_en: 'Kuvaus englanniksi',
      hint_id: 'Tunnistetta ei voi muuttaa.',
      hint_org_type: 'Yksi näistä: library, association, company, municipality, authority, parish, education, other.',
      hint_municipality: 'Nimi tai koodi, esim. Närpiö tai 545.',
      hint_municipality_now: 'Nimi tai koodi, esim. Närpiö tai 545. Nyt: {name} ({code}).',
      hint_postal_code: 'Viisi numeroa.',
      hint_lat: 'Desimaaliasteina, esim. 62.4741. Tyhjä: kunnan keskipiste.',
      hint_lon: 'Desimaaliasteina, esim. 21.3349. Tyhjä: kunnan keskipiste.',
      hint_support_forms: 'Koodit: in_person, home_visit, training, phone, video, chat.',
      hint_topics: 'Koodeja kuten basics, smartphone, email, kela.',
      hint_languages: 'Kielikoodeja kuten fi, sv, en.',
      hint_target_groups: 'Koodit: everyone, seniors, immigrants, disabled, youth.',
      hint_service_area: 'Etätuelle: nationwide, region:<nimi> tai municipality:<nimi>.',
      hint_opening_hours: 'OpenStreetMap-muodossa, esim. Mo-Fr 10:00-14:00; Sa 10:00-13:00.',
      hint_phone: 'Esim. +358 40 123 4567.',
      hint_website: 'Alkaa https://',
      lang_fi: 'suomi',
      lang_sv: 'ruotsi',
      lang_en: 'englanti'
    },
    sv: {
      title: 'Digituki – serviceleverantörer',
      skip: 'Hoppa till innehållet',
      brandSub: 'Underhåll av serviceleverantörer för koordinatorer',
      language: 'Språk',
      toConsole: 'Arbetsvyn',
      toConsoleLong: 'Gå till stödpersonens arbetsvy',
      logout: 'Logga ut',
      loginHeading: 'Logga in för att underhålla serviceleverantörerna',
      username: 'Användarnamn',
      password: 'Lösenord',
      login: 'Logga in',
      loginMissing: 'Skriv användarnamn och lösenord.',
      sessionEnded: 'Sessionen har gått ut. Logga in igen.',
      loggedOut: 'Du har loggat ut.',
      denied: 'Bara koordinatorer och administratörer kan underhålla serviceleverantörerna. Du är inloggad som {name}, en stödpersons konto.',
      pageHeading: 'Serviceleverantörer',
      listHeading: 'Serviceleverantörerna i dina regioner',
      search: 'Sök',
      searchHint: 'Ord ur namnet, id:t eller kommunen.',
      show: 'Visa',
      showAll: 'Alla',
      showActive: 'Bara aktiva',
      showInactive: 'Bara inaktiverade',
      searchButton: 'Sök',
      listCaption: 'Serviceleverantörer; välj en för att redigera den',
      colName: 'Namn',
      colMunicipality: 'Kommun',
      colForms: 'Stödformer',
      colTopics: 'Ämnen',
      colLanguages: 'Språk',
      colActive: 'Aktiv',
      listEmpty: 'Ingen serviceleverantör motsvarar sökningen.',
      loading: 'Laddar…',
      totalOne: '1 serviceleverantör',
      totalMany: '{n} serviceleverantörer',
      totalShown: 'Visar {shown} av {n} serviceleverantörer. Förfina sökningen.',
      activeYes: 'Aktiv',
      activeNo: 'Inaktiverad',
      editorHeading: 'Redigera: {name}',
      stateActive: 'Aktiv: botten föreslår den',
      stateInactive: 'Inaktiverad: botten föreslår den inte',
      source: 'Källa: {source}',
      hintList: 'Flera värden: skilj dem åt med semikolon (;).',
      bool_true: 'Ja',
      bool_false: 'Nej',
      bool_: 'Okänt',
      save: 'Spara ändringarna',
      closeEditor: 'Tillbaka till listan',
      saving: 'Sparar…',
      saved: 'Sparat: {name}.',
      nothingChanged: 'Inget att spara: inget fält har ändrats.',
      notSaved: 'Inte sparat. Rätta de markerade fälten: {fields}.',
      notSavedOther: 'Inte sparat: {message}',
      checkNotes: 'Anmärkningar från kontrollen (sparat ändå):',
      activityHeading: 'I bottens sökning',
      activeHint: 'Botten föreslår den här serviceleverantören för människor.',
      inactiveHint: 'Botten föreslår inte den här serviceleverantören. Ingenting har raderats.',
      deactivate: 'Inaktivera',
      activate: 'Aktivera igen',
      confirmDeactivate: 'Inaktivera ”{name}”? Botten slutar föreslå den. Ingenting raderas, och den kan aktiveras igen.',
      confirmActivate: 'Aktivera ”{name}” igen? Botten föreslår den igen.',
      yesDeactivate: 'Ja, inaktivera',
      yesActivate: 'Ja, aktivera',
      cancel: 'Avbryt',
      deactivated: '”{name}” är nu inaktiverad.',
      activated: '”{name}” är aktiv igen.',
      uploadHeading: 'Ladda upp en fil',
      uploadHint: 'En CSV- eller YAML-fil i importformatet (kolumnerna i ”digituki providers import”). Du ser vad som ändras innan något sparas.',
      file: 'Fil',
      format: 'Format',
      preview: 'Förhandsgranska',
      chooseFile: 'Välj en fil först.',
      tooLarge: 'Filen är större än 5 MB. Dela upp den i mindre filer.',
      unreadable: 'Filen kunde inte läsas: {message}',
      reading: 'Filen läses…',
      previewHeading: 'Vad filen skulle ändra',
      fig_rows: 'Rader',
      fig_new: 'Nya',
      fig_changed: 'Ändrade',
      fig_unchanged: 'Oförändrade',
      outsideHeading: 'Utanför dina regioner',
      errorsHeading: 'Fel',
      newHeading: 'Nya serviceleverantörer',
      changedHeading: 'Ändrade serviceleverantörer',
      warningsHeading: 'Varningar (hindrar inte uppladdningen)',
      issue: 'Rad {line}, {column}: {message}',
      reactivated: 'aktiveras igen',
      previewReady: 'Förhandsgranskningen är klar: {new} nya, {changed} ändrade, {unchanged} oförändrade.',
      blockedErrors: 'Filen kan inte tas i bruk: den har fel. Rätta dem och förhandsgranska igen.',
      blockedOutside: 'Filen kan inte tas i bruk: den har serviceleverantörer utanför dina regioner ({ids}).',
      applyReady: 'Sparar den förhandsgranskade filen: {new} nya och {changed} ändrade serviceleverantörer.',
      applyBlocked: 'Inte tillgängligt: filen har fel eller serviceleverantörer utanför dina regioner.',
      applyNothing: 'Inget att spara: filen ändrar ingenting.',
      apply: 'Ta i bruk',
      applying: 'Sparar…',
      applied: 'Sparat: {new} nya och {changed} ändrade serviceleverantörer.',
      err_bad_credentials: 'Fel användarnamn eller lösenord.',
      err_too_many_attempts: 'För många försök. Vänta en minut och försök igen.',
      err_too_many_attempts_wait: 'För många försök. Försök igen om {m} min.',
      err_network: 'Servern kunde inte nås. Kontrollera anslutningen och försök igen.',
      err_other: 'Något gick fel. Försök igen.',
      err_wrong_role: 'Bara koordinatorer och administratörer kan underhålla serviceleverantörerna.',
      err_outside_regions: 'Den här serviceleverantören finns inte i dina regioner.',
      err_outside_edit: 'Inte sparat: kommunen ligger utanför dina regioner. Du kan bara underhålla serviceleverantörer i dina egna regioner.',
      err_not_found: 'Den här serviceleverantören finns inte längre.',
      err_changed: 'Inte sparat: någon annan sparade den här serviceleverantören under tiden (ändrade fält: {fields}). Deras ändringar syns nu, dina finns kvar i formuläret. Kontrollera och spara igen.',
      err_too_large: 'Filen är större än 5 MB. Dela upp den i mindre filer.',
      col_id: 'Id',
      col_name_fi: 'Namn på finska',
      col_name_sv: 'Namn på svenska',
      col_name_en: 'Namn på engelska',
      col_organisation: 'Organisation',
      col_org_type: 'Typ av organisation',
      col_municipality: 'Kommun',
      col_street_address: 'Gatuadress',
      col_postal_code: 'Postnummer',
      col_lat: 'Latitud',
      col_lon: 'Longitud',
      col_support_forms: 'Stödformer',
      col_topics: 'Ämnen',
      col_languages: 'Språk',
      col_target_groups: 'Målgrupper',
      col_service_area: 'Serviceområde',
      col_opening_hours: 'Öppettider',
      col_phone: 'Telefon',
      col_email: 'E-post',
      col_website: 'Webbplats',
      col_free_of_charge: 'Avgiftsfri',
      col_wheelchair_accessible: 'Tillgänglig med rullstol',
      col_booking_required: 'Tidsbokning krävs',
      col_description_fi: 'Beskrivning på finska',
      col_description_sv: 'Beskrivning på svenska',
      col_description_en: 'Beskrivning på engelska',
      hint_id: 'Id:t kan inte ändras.',
      hint_org_type: 'En av: library, association, company, municipality, authority, parish, education, other.',
      hint_municipality: 'Namn eller kod, t.ex. Närpes eller 545.',
      hint_municipality_now: 'Namn eller kod, t.ex. Närpes eller 545. Nu: {name} ({code}).',
      hint_postal_code: 'Fem siffror.',
      hint_lat: 'I decimalgrader, t.ex. 62.4741. Tomt: kommunens mittpunkt.',
      hint_lon: 'I decimalgrader, t.ex. 21.3349. Tomt: kommunens mittpunkt.',
      hint_support_forms: 'Koder: in_person, home_visit, training, phone, video, chat.',
      hint_topics: 'Koder som basics, smartphone, email, kela.',
      hint_languages: 'Språkkoder som fi, sv, en.',
      hint_target_groups: 'Koder: everyone, seniors, immigrants, disabled, youth.',
      hint_service_area: 'För distansstöd: nationwide, region:<namn> eller municipality:<namn>.',
      hint_opening_hours: 'I OpenStreetMap-format, t.ex. Mo-Fr 10:00-14:00; Sa 10:00-13:00.',
      hint_phone: 'T.ex. +358 40 123 4567.',
      hint_website: 'Börjar med https://',
      lang_fi: 'finska',
      lang_sv: 'svenska',
      lang_en: 'engelska'
    },
    en: {
      title: 'Digituki – providers',
      skip: 'Skip to content',
      brandSub: 'Provider upkeep for coordinators',
      language: 'Language',
      toConsole: 'Support console',
      toConsoleLong: 'Go to the support console',
      logout: 'Log out',
      loginHeading: 'Log in to keep the provider list',
      username: 'Username',
      password: 'Password',
      login: 'Log in',
      loginMissing: 'Enter your username and password.',
      sessionEnded: 'Your session has ended. Please log in again.',
      loggedOut: 'You have logged out.',
      denied: 'Only coordinators and administrators can keep the provider list. You are logged in as {name}, a support worker account.',
      pageHeading: 'Service providers',
      listHeading: 'Providers of your regions',
      search: 'Search',
      searchHint: 'Words of the name, the id or the municipality.',
      show: 'Show',
      showAll: 'All',
      showActive: 'Active only',
      showInactive: 'Inactive only',
      searchButton: 'Search',
      listCaption: 'Providers; choose one to edit it',
      colName: 'Name',
      colMunicipality: 'Municipality',
      colForms: 'Forms of support',
      colTopics: 'Topics',
      colLanguages: 'Languages',
      colActive: 'Active',
      listEmpty: 'No providers match.',
      loading: 'Loading…',
      totalOne: '1 provider',
      totalMany: '{n} providers',
      totalShown: 'Showing {shown} of {n} providers. Narrow the search.',
      activeYes: 'Active',
      activeNo: 'Inactive',
      editorHeading: 'Edit: {name}',
      stateActive: 'Active: the bot suggests it',
      stateInactive: 'Inactive: the bot does not suggest it',
      source: 'Source: {source}',
      hintList: 'Several values: separate them with a semicolon (;).',
      bool_true: 'Yes',
      bool_false: 'No',
      bool_: 'Not known',
      save: 'Save changes',
      closeEditor: 'Back to the list',
      saving: 'Saving…',
      saved: 'Saved: {name}.',
      nothingChanged: 'Nothing to save: no field was changed.',
      notSaved: 'Not saved. Correct the marked fields: {fields}.',
      notSavedOther: 'Not saved: {message}',
      checkNotes: 'Notes from the check (saved all the same):',
      activityHeading: "In the bot's search",
      activeHint: 'The bot suggests this provider to people.',
      inactiveHint: 'The bot does not suggest this provider. Nothing has been deleted.',
      deactivate: 'Deactivate',
      activate: 'Activate again',
      confirmDeactivate: 'Deactivate “{name}”? The bot stops suggesting it. Nothing is deleted, and you can activate it again.',
      confirmActivate: 'Activate “{name}” again? The bot suggests it again.',
      yesDeactivate: 'Yes, deactivate',
      yesActivate: 'Yes, activate',
      cancel: 'Cancel',
      deactivated: '“{name}” is now inactive.',
      activated: '“{name}” is active again.',
      uploadHeading: 'Upload a file',
      uploadHint: 'A CSV or YAML file in the import format (the columns of “digituki providers import”). You see what would change before anything is saved.',
      file: 'File',
      format: 'Format',
      preview: 'Preview',
      chooseFile: 'Choose a file first.',
      tooLarge: 'The file is larger than 5 MB. Split it into smaller files.',
      unreadable: 'The file could not be read: {message}',
      reading: 'Reading the file…',
      previewHeading: 'What the file would change',
      fig_rows: 'Rows',
      fig_new: 'New',
      fig_changed: 'Changed',
      fig_unchanged: 'Unchanged',
      outsideHeading: 'Outside your regions',
      errorsHeading: 'Errors',
      newHeading: 'New providers',
      changedHeading: 'Changed providers',
      warningsHeading: 'Warnings (they do not stop the upload)',
      issue: 'Line {line}, {column}: {message}',
      reactivated: 'activated again',
      previewReady: 'Preview ready: {new} new, {changed} changed, {unchanged} unchanged.',
      blockedErrors: 'The file cannot be applied: it has errors. Correct them and preview it again.',
      blockedOutside: 'The file cannot be applied: it has providers outside your regions ({ids}).',
      applyReady: 'Saves the previewed file: {new} new and {changed} changed providers.',
      applyBlocked: 'Not available: the file has errors or providers outside your regions.',
      applyNothing: 'Nothing to apply: the file changes nothing.',
      apply: 'Apply',
      applying: 'Saving…',
      applied: 'Applied: {new} new and {changed} changed providers saved.',
      err_bad_credentials: 'Wrong username or password.',
      err_too_many_attempts: 'Too many attempts, wait a minute and try again.',
      err_too_many_attempts_wait: 'Too many attempts. Try again in {m} min.',
      err_network: 'The server could not be reached. Check the connection and try again.',
      err_other: 'Something went wrong. Try again.',
      err_wrong_role: 'Only coordinators and administrators can keep the provider list.',
      err_outside_regions: 'This provider is not in your regions.',
      err_outside_edit: 'Not saved: that municipality is outside your regions. You can only keep providers in your own regions.',
      err_not_found: 'This provider no longer exists.',
      err_changed: 'Not saved: someone else saved this provider meanwhile (fields they changed: {fields}). Their changes are shown now; yours are still in the form. Check and save again.',
      err_too_large: 'The file is larger than 5 MB. Split it into smaller files.',
      col_id: 'Id',
      col_name_fi: 'Name in Finnish',
      col_name_sv: 'Name in Swedish',
      col_name_en: 'Name in English',
      col_organisation: 'Organisation',
      col_org_type: 'Type of organisation',
      col_municipality: 'Municipality',
      col_street_address: 'Street address',
      col_postal_code: 'Postal code',
      col_lat: 'Latitude',
      col_lon: 'Longitude',
      col_support_forms: 'Forms of support',
      col_topics: 'Topics',
      col_languages: 'Languages',
      col_target_groups: 'Target groups',
      col_service_area: 'Service area',
      col_opening_hours: 'Opening hours',
      col_phone: 'Phone',
      col_email: 'Email',
      col_website: 'Website',
      col_free_of_charge: 'Free of charge',
      col_wheelchair_accessible: 'Wheelchair accessible',
      col_booking_required: 'Booking required',
      col_description_fi: 'Description in Finnish',
      col_description_sv: 'Description in Swedish',
      col_description_en: 'Description in English',
      hint_id: 'The id cannot be changed.',
      hint_org_type: 'One of: library, association, company, municipality, authority, parish, education, other.',
      hint_municipality: 'Name or code, e.g. Närpes or 545.',
      hint_municipality_now: 'Name or code, e.g. Närpes or 545. Now: {name} ({code}).',
      hint_postal_code: 'Five digits.',
      hint_lat: 'In decimal degrees, e.g. 62.4741. Empty: the centre of the municipality.',
      hint_lon: 'In decimal degrees, e.g. 21.3349. Empty: the centre of the municipality.',
      hint_support_forms: 'Codes: in_person, home_visit, training, phone, video, chat.',
      hint_topics: 'Codes such as basics, smartphone, email, kela.',
      hint_languages: 'Language codes such as fi, sv, en.',
      hint_target_groups: 'Codes: everyone, seniors, immigrants, disabled, youth.',
      hint_service_area: 'For remote help: nationwide, region:<name> or municipality:<name>.',
      hint_opening_hours: 'In the OpenStreetMap format, e.g. Mo-Fr 10:00-14:00; Sa 10:00-13:00.',
      hint_phone: 'E.g. +358 40 123 4567.',
      hint_website: 'Starting with https://',
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

  /** A column's name for people; a column this page does not know keeps its own name. */
  function columnLabel(column) {
    var key = 'col_' + column;
    return LABELS.en[key] !== undefined ? t(key) : column;
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
   * 2. State and DOM helpers
   * ------------------------------------------------------------------ */

  var state = {
    lang: 'fi',
    agent: null, // the logged-in account, null when logged out
    csrf: null,
    providers: [], // the list as the API gave it (normalised)
    total: 0,
    listLoaded: false,
    listSeq: 0, // answers to older searches are dropped
    searchTimer: null,
    selected: null, // the open provider: {id, fields, columns, active, source, baseline}
    editErrors: [], // the last 400's errors: [{column, message}]
    editWarnings: [],
    upload: null // the previewed file: {file, format, preview}
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

  function isObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  function str(value) {
    return typeof value === 'string' ? value : '';
  }

  function list(value) {
    return Array.isArray(value) ? value : [];
  }

  function texts(value) {
    return list(value).filter(function (x) {
      return typeof x === 'string';
    });
  }

  function count(value) {
    return typeof value === 'number' && isFinite(value) ? value : 0;
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
   */
  function speak(node, text) {
    clearTimeout(node.digitukiTimer);
    node.textContent = '';
    if (text) {
      node.digitukiTimer = setTimeout(function () {
        node.textContent = text;
      }, 50);
    }
  }

  /** Say `text` to screen-reader users (a polite status region). */
  function announce(text) {
    speak(ui.announcer, text);
  }

  /** Show an error in a role="alert" paragraph; '' clears it. */
  function showError(node, text) {
    speak(node, text);
  }

  /** Fill a list element with one item of text per entry. */
  function fillList(node, items) {
    node.textContent = '';
    items.forEach(function (text) {
      node.appendChild(el('li', null, text));
    });
  }

  /* ------------------------------------------------------------------ *
   * 3. The API
   * ------------------------------------------------------------------ */

  /**
   * Call the API; resolves (never rejects) to {ok, status, data, code}. `body`
   * is sent as JSON, or as it is when it is a file (a Blob). `code` is the API's
   * error code, or 'network' when there was no answer.
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
        var result = { ok: response.ok, status: response.status, data: data, code: null };
        result.retryAfter = parseInt(response.headers.get('Retry-After') || '', 10) || null;
        if (!response.ok) {
          result.code = isObject(data) && typeof data.error === 'string' ? data.error : 'other';
        }
        return result;
      });
    }, function () {
      return { ok: false, status: 0, data: null, code: 'network' };
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

  /** The API's own message of a failed call ('' when it has none). */
  function serverMessage(result) {
    return isObject(result.data) ? str(result.data.message) : '';
  }

  function providerPath(id) {
    return '/providers/' + encodeURIComponent(id);
  }

  /* ------------------------------------------------------------------ *
   * 4. Logging in and out
   * ------------------------------------------------------------------ */

  /** On page load: a session this browser already has, or the login form. */
  function resumeSession() {
    call('GET', '/me').then(function (result) {
      if (result.ok && isObject(result.data) && str(result.data.csrf_token)) {
        state.csrf = result.data.csrf_token;
        loggedIn(result.data, false);
      } else {
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
    showError(ui.loginError, text);
    ui.username.setAttribute('aria-invalid', ui.username.value.trim() ? 'false' : 'true');
    ui.password.setAttribute('aria-invalid', 'true');
    ui.password.value = '';
    focus.focus();
  }

  function showLogin(message) {
    state.agent = null;
    state.csrf = null;
    clearTimeout(state.searchTimer);
    closeEditor(false); // nothing of this session is left for the next one
    clearUpload(true);
    ui.q.value = '';
    ui.activeFilter.value = '';
    ui.account.hidden = true;
    ui.workView.hidden = true;
    ui.deniedView.hidden = true;
    ui.loginView.hidden = false;
    ui.username.removeAttribute('aria-invalid');
    ui.password.removeAttribute('aria-invalid');
    showError(ui.loginError, message);
    ui.username.focus();
  }

  function loggedIn(agent, moveFocus) {
    state.agent = {
      username: str(agent.username),
      display_name: str(agent.display_name) || str(agent.username),
      role: str(agent.role)
    };
    ui.loginView.hidden = true;
    ui.account.hidden = false;
    ui.agentName.textContent = state.agent.display_name;
    showError(ui.loginError, '');
    if (OVERSEERS.indexOf(state.agent.role) === -1) {
      // The API would refuse every call: say why at once instead.
      ui.workView.hidden = true;
      ui.deniedView.hidden = false;
      ui.deniedMessage.textContent = t('denied', { name: state.agent.display_name });
      if (moveFocus) {
        ui.deniedHeading.focus();
      }
      return;
    }
    ui.deniedView.hidden = true;
    ui.workView.hidden = false;
    state.providers = [];
    state.listLoaded = false;
    renderList();
    loadList();
    if (moveFocus) {
      ui.pageHeading.focus();
    }
  }

  /** The server forgot the session (expired, logged out elsewhere). */
  function sessionEnded() {
    showLogin(t('sessionEnded'));
  }

  function logOut() {
    authed('POST', '/auth/logout').then(function () {
      showLogin('');
      announce(t('loggedOut'));
    });
  }

  /* ------------------------------------------------------------------ *
   * 5. The list
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
   * 6. The edit form
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
      hideConfirm(false);
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
      } else if (LABELS.en['hint_' + column] !== undefined) {
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
    if (!ui.confirm.hidden) {
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
      } else if (result.status === 400 && serverMessage(result)) {
        showError(ui.editError, t('notSavedOther', { message: serverMessage(result) }));
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
    hideConfirm(false);
    markSelectedRow();
    if (returnFocus) {
      var button = id !== null ? rowButton(id) : null;
      (button || ui.q).focus();
    }
  }

  /* ------------------------------------------------------------------ *
   * 7. Active or not
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
    ui.confirmQuestion.textContent = confirmText();
    ui.confirm.hidden = false;
    ui.confirmQuestion.focus();
  }

  function hideConfirm(returnFocus) {
    ui.confirm.hidden = true;
    if (returnFocus) {
      ui.toggleActive.focus();
    }
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
      hideConfirm(true);
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

  /** Escape cancels the question. */
  function onEditorKeydown(event) {
    if (event.key === 'Escape' && !ui.confirm.hidden) {
      event.preventDefault();
      hideConfirm(true);
    }
  }

  /* ------------------------------------------------------------------ *
   * 8. Upload
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
    if (result.code === 'invalid' && serverMessage(result)) {
      showError(ui.uploadError, t('unreadable', { message: serverMessage(result) }));
    } else if (state.agent) {
      showError(ui.uploadError, errorText(result.code));
    }
  }

  /* ------------------------------------------------------------------ *
   * 9. Language
   * ------------------------------------------------------------------ */

  function changeLanguage(code) {
    if (LANGS.indexOf(code) === -1) {
      return;
    }
    state.lang = code;
    try {
      window.localStorage.setItem(LANG_KEY, JSON.stringify(code));
    } catch (e) {
      // Disabled storage: the choice lasts until the page is reloaded.
    }
    applyLanguage();
  }

  /** Every text in the current language; what was built from data is built again. */
  function applyLanguage() {
    document.documentElement.lang = state.lang;
    document.title = t('title');
    relabelStatic();
    var buttons = document.querySelectorAll('.lang');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute('aria-pressed', buttons[i].getAttribute('data-lang') === state.lang ? 'true' : 'false');
    }
    if (!state.agent) {
      return;
    }
    if (!ui.deniedView.hidden) {
      ui.deniedMessage.textContent = t('denied', { name: state.agent.display_name });
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
   * 10. Start
   * ------------------------------------------------------------------ */

  function bindUi() {
    [
      'account', 'agent-name', 'logout', 'login-view', 'login-form', 'login-error', 'username',
      'password', 'login-button', 'denied-view', 'denied-heading', 'denied-message', 'work-view',
      'page-heading', 'search-form', 'q', 'active-filter', 'list-status', 'list-error', 'list-scroll',
      'providers-table', 'providers-body', 'list-empty', 'editor', 'editor-heading', 'editor-state',
      'editor-source', 'edit-form', 'edit-error', 'edit-fields', 'edit-warnings', 'edit-warning-list',
      'save', 'close-editor', 'edit-status', 'activity-hint', 'toggle-active', 'confirm-active',
      'confirm-question', 'confirm-yes', 'confirm-no', 'active-error', 'upload-heading', 'upload-form',
      'upload-file', 'upload-format', 'preview-button', 'upload-error', 'upload-status', 'preview',
      'preview-heading', 'preview-figures', 'preview-outside', 'preview-outside-list', 'preview-errors',
      'preview-error-list', 'preview-new', 'preview-new-list', 'preview-changed', 'preview-changed-list',
      'preview-warnings', 'preview-warning-list', 'apply', 'apply-hint', 'announcer'
    ].forEach(function (id) {
      ui[id.replace(/-(\w)/g, function (all, c) {
        return c.toUpperCase();
      })] = $(id);
    });
    ui.confirm = ui.confirmActive;
  }

  function listen() {
    ui.loginForm.addEventListener('submit', onLoginSubmit);
    ui.logout.addEventListener('click', logOut);
    var buttons = document.querySelectorAll('.lang');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener('click', function (event) {
        changeLanguage(event.currentTarget.getAttribute('data-lang'));
      });
    }
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
      hideConfirm(true);
    });
    ui.editor.addEventListener('keydown', onEditorKeydown);
    ui.uploadFile.addEventListener('change', onFileChosen);
    ui.uploadFormat.addEventListener('change', function () {
      clearUpload(false);
    });
    ui.uploadForm.addEventListener('submit', onPreview);
    ui.apply.addEventListener('click', onApply);
  }

  function start() {
    bindUi();
    var lang = null;
    try {
      lang = JSON.parse(window.localStorage.getItem(LANG_KEY));
    } catch (e) {
      lang = null;
    }
    state.lang = LANGS.indexOf(lang) !== -1 ? lang : browserLanguage();
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
