/* deepref console: what needs jQuery and must be in place before Flask-Admin's form.js
 * and bs4_filters.js run (they announce "adminFormReady" as they load). Loaded right
 * after jQuery; static/admin.js stays in the head for the click guard.
 */
(function () {
  "use strict";

  // Date and time filters (deepref.admin.filters): a native datetime-local input, never
  // a JavaScript picker that could cover the page. form.js calls our converter.
  var converterAdded = false;
  function nativeDateTime($el, name) {
    if (name !== "deepref-datetime") {
      return false;
    }
    var value = ($el.val() || "").replace(" ", "T");
    $el.attr({type: "datetime-local", step: "1", "aria-label": "Date and time (UTC)"}).val(value);
    return true;
  }
  if (window.jQuery) {
    window.jQuery(document).on("adminFormReady", function () {
      if (!converterAdded && window.faForm) {
        window.faForm.addFieldConverter(nativeDateTime);
        converterAdded = true;
      }
    });
    // The bundle editor's reference lookup only offers the chosen seeker's references.
    window.jQuery.ajaxPrefilter(function (options) {
      // The lookup's name is in its URL (form.js), the query in its data.
      if (options.url && options.url.indexOf("/ajax/lookup/?name=reference_links-") !== -1) {
        var seeker = document.querySelector("form.admin-form input[name=seeker]");
        options.data += "&seeker=" + encodeURIComponent(seeker ? seeker.value : "");
      }
    });
  }
})();
