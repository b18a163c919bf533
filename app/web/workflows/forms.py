"""Forms of the workflow pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.services.workflow_input import DESCRIPTION_MAX_CHARS
from app.web.form_keys import new_form_key


class UploadForm(FlaskForm):
    # Left empty, the file's process name is used (services.upload_names); the page fills it in too.
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=DESCRIPTION_MAX_CHARS)])
    file = FileField("BPMN file", validators=[FileRequired("choose a .bpmn file")])
    mode = RadioField(
        "When", choices=[("async", "Queue it and return at once"), ("wait", "Wait until SHAR has it")], default="async"
    )


class PreviewedUploadForm(FlaskForm):
    """The upload of a file just compared: the preview page carries its text back in hidden fields,
    with its SHA-256 to restore the line breaks a browser's form submission turns into CRLF."""

    name = HiddenField(validators=[DataRequired(), Length(max=200)])
    description = HiddenField(validators=[Optional(), Length(max=DESCRIPTION_MAX_CHARS)])
    mode = HiddenField(default="async")
    bpmn_xml = HiddenField(validators=[DataRequired("the compared file did not come back; choose it again")])
    bpmn_sha256 = HiddenField()


class LaunchForm(FlaskForm):
    # Either key/value rows (keys[] and values[] from the page) or raw JSON; the route merges them.
    variables_json = TextAreaField("Variables (JSON)", validators=[Optional()])
    callback_url = StringField("Callback URL", validators=[Optional(), Length(max=2000)])
    # Rendered as a <select> of the file's processes when it has more than one.
    process_id = StringField("Process", validators=[Optional(), Length(max=200)])
    # Shown when a process of the file starts with a message: start the instance by that message.
    message = StringField("Start by message", validators=[Optional(), Length(max=200)])
    form_key = HiddenField(default=new_form_key)  # one-time: a second post shows the first instance


class TransferForm(FlaskForm):
    owner = StringField("New owner (e-mail)", validators=[DataRequired(), Length(max=255)])
