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
      var action = form.action || window.location.href;
      xhr.open("POST", action);
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
        if (data && data.error && data.error.message) {  // refused before it was read (too large)
          if (button) { button.disabled = false; }
          if (progress) { progress.classList.add("failed"); }
          if (label) { label.textContent = data.error.message; label.setAttribute("role", "alert"); }
          return;
        }
        if (data && data.html) {
          var holder = document.createElement("div");
          holder.innerHTML = data.html;
          // The form sent, not another form the fragment also holds (the reply page's
          // template picker comes first: it once replaced the letter and its errors).
          var replacement = holder.querySelector("form[data-upload]") || holder.querySelector("form");
          form.replaceWith(replacement);
          enhance(replacement);
          var firstError = replacement.querySelector("[aria-invalid=true], .alert.error");
          if (firstError) { firstError.focus && firstError.focus(); firstError.scrollIntoView({ block: "center" }); }
          return;
        }
        // Any other answer: never send the form again, the first request may have done its
        // work (a second post made a second import: issue #14). An answer reached through a
        // redirect is where the server sent the browser: go there (a GET). A page (too many
        // deposits, an expired session…) is shown as a plain submission would have shown it.
        if (xhr.responseURL && xhr.responseURL !== action) { window.location.assign(xhr.responseURL); return; }
        if ((xhr.getResponseHeader("Content-Type") || "").indexOf("text/html") === 0 && xhr.responseText) {
          document.open(); document.write(xhr.responseText); document.close();
          return;
        }
        if (button) { button.disabled = false; }
        if (progress) { progress.classList.add("failed"); }
        if (label) { label.textContent = label.getAttribute("data-unexpected"); label.setAttribute("role", "alert"); }
      });
      xhr.addEventListener("error", function () {
        if (button) { button.disabled = false; }
        if (label) { label.textContent = label.getAttribute("data-failed"); }
      });
      xhr.send(new FormData(form));
    });
  }
  document.querySelectorAll("form[data-upload]").forEach(enhance);

  // The deposit form's procedure chooser follows the administration chosen: its published
  // procedures are fetched and listed (without the script, "List its procedures" does it).
  document.querySelectorAll("select[data-procedures]").forEach(function (recipient) {
    recipient.addEventListener("change", function () {
      var chooser = recipient.form && recipient.form.querySelector("select[name=procedure]");
      if (!chooser || !window.fetch) { return; }
      var chosen = chooser.value;
      var url = recipient.getAttribute("data-procedures") + "?to=" + encodeURIComponent(recipient.value);
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          while (chooser.options.length > 1) { chooser.remove(1); }  // the first: no procedure
          data.procedures.forEach(function (p) {
            chooser.add(new Option(p.label, p.code, false, p.code === chosen));
          });
        })
        .catch(function () { /* the server checks the procedure against the administration */ });
    });
  });

  // Batch signing with a progress bar: the selected folders go a few at a time, each answer
  // moves the bar; folders that could not be signed are listed, the others go on.
  document.querySelectorAll("form[data-batch]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.fetch) { return; }
      var ids = Array.prototype.map.call(form.querySelectorAll("input[name=folders]:checked"), function (box) { return box.value; });
      if (!ids.length) { return; }  // the server says what is missing
      event.preventDefault();
      var holder = form.querySelector(".batch-progress");
      var bar = holder.querySelector("progress");
      var label = holder.querySelector(".batch-label");
      var problems = holder.querySelector(".batch-problems");
      var button = form.querySelector("button[type=submit]");
      var passphrase = form.querySelector("input[name=passphrase]").value;
      var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
      var total = ids.length, done = 0, signed = 0, size = 10;
      holder.hidden = false; bar.max = total; bar.value = 0; problems.innerHTML = "";
      button.disabled = true;
      function say(template) {
        return template.replace("{done}", done).replace("{signed}", signed).replace("{total}", total);
      }
      function next() {
        if (!ids.length) {
          label.textContent = say(label.getAttribute("data-done"));
          button.disabled = false;
          return;
        }
        var chunk = ids.splice(0, size);
        var body = new FormData();
        body.append("csrfmiddlewaretoken", token);
        body.append("passphrase", passphrase);
        chunk.forEach(function (id) { body.append("folders", id); });
        fetch(form.action, {
          method: "POST", body: body, credentials: "same-origin",
          headers: { "Accept": "application/json", "X-Requested-With": "XMLHttpRequest" }
        })
          .then(function (response) { return response.json(); })
          .then(function (data) {
            if (data.error) { label.textContent = data.error; button.disabled = false; return; }
            data.results.forEach(function (result) {
              done += 1;
              if (result.ok) {
                signed += 1;
                var box = form.querySelector("input[name=folders][value='" + result.folder + "']");
                if (box) { box.checked = false; box.disabled = true; }
              } else {
                var item = document.createElement("li");
                item.textContent = (result.title || result.folder) + ": " + result.message;
                problems.appendChild(item);
              }
            });
            bar.value = done;
            label.textContent = say(label.getAttribute("data-progress"));
            next();
          })
          .catch(function () { label.textContent = label.getAttribute("data-failed"); button.disabled = false; });
      }
      next();
    });
  });
})();

// A batch of letters at the counter: each filled row is sent alone, in order (one letter per
// request keeps each within the upload limits); the bar moves, and each row shows its number
// or what is wrong with it. Registered rows are locked; the others can be corrected and sent again.
(function () {
  "use strict";
  document.querySelectorAll("form[data-counter-batch]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.fetch) { return; }
      var rows = Array.prototype.filter.call(form.querySelectorAll("[data-letter]"), function (row) {
        if (row.getAttribute("data-registered")) { return false; }
        return Array.prototype.some.call(row.querySelectorAll("input, select"), function (input) {
          return input.type === "file" ? input.files.length > 0 : (input.tagName === "INPUT" && input.value.trim() !== "");
        });
      });
      if (!rows.length) { return; }  // the server says what is missing
      event.preventDefault();
      var holder = form.querySelector(".batch-progress");
      var bar = holder.querySelector("progress");
      var label = holder.querySelector(".batch-label");
      var button = form.querySelector("button[type=submit]");
      var next = form.querySelector(".batch-next");
      var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
      var total = rows.length, done = 0, registered = [];
      holder.hidden = false; bar.max = total; bar.value = 0; button.disabled = true;
      function say(template) { return template.replace("{done}", registered.length).replace("{total}", total); }
      function clearErrors(row) {
        row.querySelectorAll(".error.batch-error").forEach(function (p) { p.remove(); });
        row.querySelectorAll("[aria-invalid]").forEach(function (input) { input.removeAttribute("aria-invalid"); });
      }
      function showErrors(row, errors) {
        Object.keys(errors).forEach(function (name) {
          var input = row.querySelector("[name$='-" + name + "']");
          var message = document.createElement("p");
          message.className = "error batch-error";
          message.textContent = errors[name].join(" ");
          if (input) { input.setAttribute("aria-invalid", "true"); input.closest(".field").appendChild(message); }
          else { row.insertBefore(message, row.firstChild); }
        });
      }
      function send() {
        if (!rows.length) {
          label.textContent = say(label.getAttribute("data-done"));
          button.disabled = false;
          if (registered.length) { next.href = next.href.split("?")[0] + "?ids=" + registered.join(","); next.hidden = false; }
          return;
        }
        var row = rows.shift();
        var body = new FormData();
        body.append("csrfmiddlewaretoken", token);
        row.querySelectorAll("input, select").forEach(function (input) {
          var name = input.name.replace(/^letter-\d+-/, "letter-0-");
          if (input.type === "file") { Array.prototype.forEach.call(input.files, function (file) { body.append(name, file); }); }
          else { body.append(name, input.value); }
        });
        clearErrors(row);
        fetch(form.action, {
          method: "POST", body: body, credentials: "same-origin",
          headers: { "Accept": "application/json", "X-Requested-With": "XMLHttpRequest" }
        })
          .then(function (response) { return response.json(); })
          .then(function (data) {
            done += 1;
            if (data.number) {
              registered.push(data.id);
              row.setAttribute("data-registered", data.number);
              row.querySelectorAll("input, select").forEach(function (input) { input.disabled = true; });
              var result = row.querySelector(".batch-result");
              var link = document.createElement("a");
              link.href = data.url; link.textContent = data.number; link.dir = "ltr";
              result.textContent = ""; result.appendChild(link);
            } else {
              showErrors(row, data.errors || {});
            }
            bar.value = done;
            label.textContent = say(label.getAttribute("data-progress"));
            send();
          })
          .catch(function () { label.textContent = label.getAttribute("data-failed"); button.disabled = false; });
      }
      send();
    });
  });
})();
