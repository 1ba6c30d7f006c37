// Wasl: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Language selector: change on select.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // List the files chosen in a file input.
  document.querySelectorAll("input[type=file][multiple]").forEach(function (input) {
    var list = document.createElement("ul");
    list.className = "files-list";
    list.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", list);
    input.addEventListener("change", function () {
      list.innerHTML = "";
      Array.prototype.forEach.call(input.files, function (file) {
        var item = document.createElement("li");
        item.textContent = file.name + " — " + Math.max(1, Math.round(file.size / 1024)) + " KB";
        list.appendChild(item);
      });
    });
  });

  // Upload with a progress bar: the form is sent with XMLHttpRequest; the server answers
  // JSON {redirect} on success or {html} (the form with its errors) on refusal.
  function enhance(form) {
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) { return; }
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      var progress = form.querySelector(".progress");
      var bar = progress && progress.querySelector(".progress-bar span");
      var label = progress && progress.querySelector(".progress-label");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.setRequestHeader("Accept", "application/json");
      if (button) { button.disabled = true; }
      if (progress) { progress.classList.add("active"); }
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable || !bar) { return; }
        var percent = Math.round((e.loaded / e.total) * 100);
        bar.style.width = percent + "%";
        progress.querySelector(".progress-bar").setAttribute("aria-valuenow", String(percent));
        if (label) { label.textContent = label.getAttribute("data-sending").replace("{percent}", percent + "%"); }
      });
      xhr.upload.addEventListener("load", function () {
        if (label) { label.textContent = label.getAttribute("data-registering"); }
      });
      xhr.addEventListener("load", function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (data && data.redirect) { window.location.assign(data.redirect); return; }
        if (data && data.html) {
          var holder = document.createElement("div");
          holder.innerHTML = data.html;
          var replacement = holder.querySelector("form");
          form.replaceWith(replacement);
          enhance(replacement);
          var firstError = replacement.querySelector("[aria-invalid=true], .alert.error");
          if (firstError) { firstError.focus && firstError.focus(); firstError.scrollIntoView({ block: "center" }); }
          return;
        }
        form.submit();  // unexpected answer: fall back to a plain submission
      });
      xhr.addEventListener("error", function () {
        if (button) { button.disabled = false; }
        if (label) { label.textContent = label.getAttribute("data-failed"); }
      });
      xhr.send(new FormData(form));
    });
  }
  document.querySelectorAll("form[data-upload]").forEach(enhance);
})();
