/* deepref console: the behaviour Flask-Admin 2.2's templates attach with inline on*
 * handlers, attached here instead, so the CSP can forbid inline handlers
 * (script-src-attr 'none') and javascript: URLs. The overriding templates in
 * templates/admin/ carry data-* attributes in place of onclick=.
 *
 * One click listener on the document, in the capture phase: it runs before any
 * handler can stop the event, and it looks the element up at click time, so rows and
 * buttons added later (inline "Add", filters) need nothing more.
 */
(function () {
  "use strict";

  function closest(target, selector) {
    return target && target.closest ? target.closest(selector) : null;
  }

  document.addEventListener("click", function (event) {
    var el;
    // Delete button (row_actions.html): submit only when confirmed.
    el = closest(event.target, "[data-confirm]");
    if (el) {
      if (!window.confirm(el.getAttribute("data-confirm"))) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
      return;
    }
    // Bulk action ("With selected" menu, actions.html): actions.js asks and submits.
    el = closest(event.target, "[data-model-action]");
    if (el) {
      event.preventDefault();
      if (window.modelActions) {
        window.modelActions.execute(el.getAttribute("data-model-action"));
      }
      return;
    }
    // Inline "Add" button (inline_list_base.html): form.js adds the row.
    el = closest(event.target, "[data-inline-add]");
    if (el) {
      event.preventDefault();
      if (window.faForm) {
        window.faForm.addInlineField(el, el.getAttribute("data-inline-add"));
      }
      return;
    }
    // Links that only exist to be clicked by script (filters, tabs, menus, pagination):
    // never follow them. The CSP would refuse the javascript:void(0) ones anyway.
    el = closest(event.target, 'a[href="#"], a[href^="javascript:"]');
    if (el) {
      event.preventDefault();
    }
  }, true);

  // Create and edit pages: the keyboard starts in the first field (after form.js has
  // built its lookups), or in the first one with an error.
  window.addEventListener("load", function () {
    var form = document.querySelector("form.admin-form");
    if (!form) {
      return;
    }
    var first = form.querySelector(".is-invalid") || form.querySelector(
      "input:not([type=hidden]):not([disabled]), select, textarea, .select2-focusser");
    if (first) {
      first.focus();
    }
  });
})();
