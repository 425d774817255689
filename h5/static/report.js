/* Report form: keep the input when a submission fails, retry safely (same idempotency key),
   shrink big photos on the phone before a slow upload. Works without this script too. */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form || !window.fetch || !window.FormData) return;
  var maxPhotos = parseInt(form.getAttribute("data-max-photos"), 10) || 3;
  var draftKey = "jingan-report:" + location.pathname;
  var fields = ["category", "description", "mobile"];
  var message = document.getElementById("form-message");
  var button = document.getElementById("submit");
  var photoInput = document.getElementById("photos");
  var previews = document.getElementById("photo-previews");

  function save() {
    try {
      var draft = { idempotency_key: form.elements.idempotency_key.value };
      fields.forEach(function (f) { draft[f] = form.elements[f].value; });
      localStorage.setItem(draftKey, JSON.stringify(draft));
    } catch (e) { /* private mode: nothing to keep */ }
  }
  function restore() {
    try {
      var draft = JSON.parse(localStorage.getItem(draftKey) || "null");
      if (!draft) return;
      fields.forEach(function (f) { if (!form.elements[f].value && draft[f]) form.elements[f].value = draft[f]; });
      if (draft.idempotency_key) form.elements.idempotency_key.value = draft.idempotency_key;
    } catch (e) { /* ignore */ }
  }
  restore();
  form.addEventListener("input", save);

  function showMessage(text) { message.textContent = text; message.hidden = !text; }
  function clearErrors() {
    Array.prototype.forEach.call(form.querySelectorAll(".err.js"), function (el) { el.remove(); });
  }
  function showErrors(errors) {
    Object.keys(errors || {}).forEach(function (name) {
      var input = form.elements[name] || photoInput;
      var em = document.createElement("em");
      em.className = "err js";
      em.setAttribute("data-for", name);
      em.textContent = errors[name];
      (input.closest(".field") || input.parentNode).appendChild(em);
    });
  }

  photoInput.addEventListener("change", function () {
    previews.innerHTML = "";
    var files = Array.prototype.slice.call(photoInput.files || []);
    if (files.length > maxPhotos) showMessage("最多上传 " + maxPhotos + " 张照片，将只提交前 " + maxPhotos + " 张");
    files.slice(0, maxPhotos).forEach(function (file) {
      var img = document.createElement("img");
      img.alt = file.name;
      img.src = URL.createObjectURL(file);
      previews.appendChild(img);
    });
  });

  function shrink(file) {
    // Big camera photos are resized on the phone (≤ 2000 px) so they upload on a slow network.
    return new Promise(function (resolve) {
      if (!/^image\/(jpeg|png|webp)$/.test(file.type) || file.size < 1.5 * 1024 * 1024 || !window.createImageBitmap) {
        return resolve(file);
      }
      createImageBitmap(file).then(function (bitmap) {
        var scale = Math.min(1, 2000 / Math.max(bitmap.width, bitmap.height));
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) {
          resolve(blob && blob.size < file.size ? new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg",
            { type: "image/jpeg" }) : file);
        }, "image/jpeg", 0.85);
      }).catch(function () { resolve(file); });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearErrors();
    showMessage("");
    save();
    button.disabled = true;
    button.textContent = "正在提交…";
    var files = Array.prototype.slice.call(photoInput.files || []).slice(0, maxPhotos);
    Promise.all(files.map(shrink)).then(function (photos) {
      var data = new FormData(form);
      data.delete("photos");
      photos.forEach(function (p) { data.append("photos", p, p.name); });
      var controller = window.AbortController ? new AbortController() : null;
      var timer = controller && setTimeout(function () { controller.abort(); }, 90000);
      return fetch(form.action || location.href, {
        method: "POST", body: data, headers: { "X-Requested-With": "fetch", "Accept": "application/json" },
        signal: controller && controller.signal, credentials: "same-origin"
      }).then(function (response) {
        if (timer) clearTimeout(timer);
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      });
    }).then(function (result) {
      if (result.body && result.body.ok && result.body.redirect) {
        try { localStorage.removeItem(draftKey); } catch (e) { /* ignore */ }
        location.href = result.body.redirect;
        return;
      }
      showErrors(result.body && result.body.errors);
      showMessage((result.body && result.body.message) || "提交未成功，请检查后重试");
      button.disabled = false;
      button.textContent = "提交";
    }).catch(function () {
      showMessage("网络不佳，提交未成功。您填写的内容已保留，请稍后再点“提交”重试。");
      button.disabled = false;
      button.textContent = "重新提交";
    });
  });
})();
