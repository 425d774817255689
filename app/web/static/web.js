/* The shared page layer's behaviour (plain JS, no build step). Every page works without it; with it:
   - forms keep a local draft (localStorage) across a failed submission, a lost network and a reload;
   - submissions go by fetch with the form's idempotency key, so a retry is never applied twice;
   - photos are shrunk on the phone (≤ 1600 px JPEG) before a slow upload;
   - in WeCom, photos, location and scanning use the JS-SDK (wecom.js), elsewhere the browser's own. */
(function () {
  "use strict";
  var MAX_SIDE = 1600, SHRINK_ABOVE = 300 * 1024;
  var csrf = document.body.getAttribute("data-csrf") || "";
  var Toolbox = window.Toolbox = window.Toolbox || {};

  function draftKey(form) { return "tbx-draft:" + form.getAttribute("data-draft"); }
  function each(list, fn) { Array.prototype.forEach.call(list, fn); }

  function saveDraft(form) {
    var draft = {};
    each(form.elements, function (el) {
      if (!el.name || el.type === "file" || el.name === "_csrf") return;
      if ((el.type === "radio" || el.type === "checkbox")) {
        if (!el.checked) return;
        (draft[el.name] = draft[el.name] || []).push(el.value);
      } else { draft[el.name] = [el.value]; }
    });
    try { localStorage.setItem(draftKey(form), JSON.stringify({ at: Date.now(), fields: draft })); } catch (e) { /* full or private */ }
  }
  function restoreDraft(form) {
    var saved;
    try { saved = JSON.parse(localStorage.getItem(draftKey(form)) || "null"); } catch (e) { saved = null; }
    if (!saved || !saved.fields) return;
    var fields = saved.fields;
    each(form.elements, function (el) {
      var values = fields[el.name];
      if (!values || el.type === "file" || el.name === "_csrf") return;
      if (el.type === "radio" || el.type === "checkbox") {
        if (!form.querySelector('[name="' + el.name + '"]:checked')) el.checked = values.indexOf(el.value) >= 0;
      } else if (el.hasAttribute("data-keep") || !el.value) { el.value = values[0]; }
    });
    each(form.querySelectorAll("[data-location]"), showLocation);
    var note = form.querySelector("[data-draft-note]");
    if (note) note.hidden = false;
  }
  function clearDraft(form) { try { localStorage.removeItem(draftKey(form)); } catch (e) { /* ignore */ } }

  // --- photos -------------------------------------------------------------------------------
  function shrink(file) {
    return new Promise(function (resolve) {
      if (!/^image\//.test(file.type || "image/jpeg") || !window.createImageBitmap || !HTMLCanvasElement.prototype.toBlob) {
        return resolve(file);
      }
      createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
        var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
        if (scale === 1 && file.size < SHRINK_ABOVE) return resolve(file);
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size) return resolve(file);
          resolve(new File([blob], (file.name || "photo").replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }));
        }, "image/jpeg", 0.82);
      }).catch(function () { resolve(file); });
    });
  }
  function picked(input) {
    var files = Array.prototype.slice.call(input.files || []);
    return files.concat(input._picked || []).slice(0, parseInt(input.getAttribute("data-photos"), 10) || 9);
  }
  function showPreviews(input) {
    var box = input.parentNode.querySelector(".previews");
    if (!box) return;
    box.innerHTML = "";
    picked(input).forEach(function (file) {
      var img = document.createElement("img");
      img.alt = "待上传照片";
      img.src = URL.createObjectURL(file);
      box.appendChild(img);
    });
  }
  Toolbox.addPhotos = function (input, blobs) {
    input._picked = (input._picked || []).concat(blobs);
    showPreviews(input);
  };

  // --- location and scanning ------------------------------------------------------------------
  function showLocation(box) {
    var lat = box.querySelector('input[name$="_lat"]').value, lng = box.querySelector('input[name$="_lng"]').value;
    var text = box.querySelector("[data-location-text]");
    if (text) text.textContent = lat && lng ? Number(lat).toFixed(5) + ", " + Number(lng).toFixed(5) : "未定位";
  }
  function browserLocation() {
    return new Promise(function (resolve, reject) {
      if (!navigator.geolocation) return reject(new Error("no geolocation"));
      navigator.geolocation.getCurrentPosition(function (p) {
        resolve({ lat: p.coords.latitude, lng: p.coords.longitude });
      }, reject, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }
  Toolbox.locate = function () {
    var sdk = Toolbox.wecom;
    return (sdk && sdk.available() ? sdk.getLocation() : Promise.reject(new Error("no sdk"))).catch(browserLocation);
  };

  document.addEventListener("click", function (event) {
    var locate = event.target.closest("[data-locate]");
    if (locate) {
      var box = locate.closest("[data-location]");
      locate.disabled = true;
      Toolbox.locate().then(function (pos) {
        box.querySelector('input[name$="_lat"]').value = pos.lat;
        box.querySelector('input[name$="_lng"]').value = pos.lng;
        showLocation(box);
        var form = box.closest("form");
        if (form && form.hasAttribute("data-draft")) saveDraft(form);
      }).catch(function () {
        box.querySelector("[data-location-text]").textContent = "无法定位，请检查定位权限";
      }).then(function () { locate.disabled = false; });
    }
    var scan = event.target.closest("[data-scan]");
    if (scan) {
      event.preventDefault();
      var target = scan.getAttribute("data-scan");
      var sdk = Toolbox.wecom;
      (sdk && sdk.available() ? sdk.scanQRCode() : Promise.reject(new Error("no sdk"))).catch(function () {
        return window.prompt("请输入静安码（海报二维码下方的 10 位编码）") || Promise.reject(new Error("cancelled"));
      }).then(function (text) {
        var match = /\/h5\/c\/([A-Za-z0-9]+)/.exec(text) || /^\s*([A-Za-z0-9]{6,16})\s*$/.exec(text);
        if (match) location.href = target.replace("{code}", encodeURIComponent(match[1].toUpperCase()));
      }).catch(function () { /* cancelled */ });
    }
    var pick = event.target.closest("[data-wecom-pick]");
    if (pick) {
      var input = pick.parentNode.querySelector("input[type=file]");
      Toolbox.wecom.chooseImage(parseInt(input.getAttribute("data-photos"), 10) || 9).then(function (blobs) {
        Toolbox.addPhotos(input, blobs);
      }).catch(function () { input.click(); });
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[type=file][data-photos]")) showPreviews(event.target);
  });

  // --- submitting -------------------------------------------------------------------------------
  function showErrors(form, errors) {
    each(form.querySelectorAll("[data-error-for]"), function (el) {
      var text = errors[el.getAttribute("data-error-for")];
      el.textContent = text || "";
      el.hidden = !text;
    });
  }
  function showMessage(form, text) {
    var box = form.querySelector("[data-form-message]");
    if (box) { box.textContent = text || ""; box.hidden = !text; if (text) box.scrollIntoView({ block: "center" }); }
    else if (text) window.alert(text);
  }

  function submit(form, event) {
    if (!window.fetch || !window.FormData) return;  // the plain form post still works
    event.preventDefault();
    if (form.getAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) return;
    var button = form.querySelector("[type=submit]");
    var label = button ? button.textContent : "";
    if (button) { button.disabled = true; button.textContent = "正在提交…"; }
    if (form.hasAttribute("data-draft")) saveDraft(form);
    var inputs = form.querySelectorAll("input[type=file][data-photos]");
    var jobs = [];
    each(inputs, function (input) {
      jobs.push(Promise.all(picked(input).map(shrink)).then(function (files) { return { name: input.name, files: files }; }));
    });
    Promise.all(jobs).then(function (groups) {
      var data = new FormData(form);
      groups.forEach(function (group) {
        data.delete(group.name);
        group.files.forEach(function (f) { data.append(group.name, f, f.name || "photo.jpg"); });
      });
      return fetch(form.getAttribute("action") || location.href, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-Requested-With": "fetch", "X-CSRF-Token": csrf, "Accept": "application/json" }
      });
    }).then(function (response) {
      return response.json().then(function (body) { return { status: response.status, body: body }; });
    }).then(function (result) {
      var body = result.body || {};
      if (body.login) { location.href = body.login; return; }
      if (body.ok && body.redirect) {
        if (form.hasAttribute("data-draft")) clearDraft(form);
        location.href = body.redirect;
        return;
      }
      showErrors(form, body.errors || {});
      showMessage(form, body.message || "提交未成功，请检查后重试");
      if (button) { button.disabled = false; button.textContent = label; }
    }).catch(function () {
      showMessage(form, "网络不佳，提交未成功。填写的内容已保存在本机，请稍后再点“" + label + "”重试。");
      if (button) { button.disabled = false; button.textContent = "重新" + label.replace(/^重新/, ""); }
    });
  }

  each(document.querySelectorAll("form[data-submit]"), function (form) {
    if (form.hasAttribute("data-draft")) {
      restoreDraft(form);
      form.addEventListener("input", function () { saveDraft(form); });
      form.addEventListener("change", function () { saveDraft(form); });
    }
    form.addEventListener("submit", function (event) { submit(form, event); });
  });
})();
