"""Launch parameters shaped like what Canvas and Moodle really send (LTI 1.1 basic launches).

URN roles, Unicode names, ``&`` and quotes in values, custom and ext parameters, empty values.
"""

CANVAS = [
    ("context_id", "4dde05e8ca1973bcca9bffc13e1548820eee93a3"),
    ("context_label", "PHYS 101"),
    ("context_title", 'Physics & "Quantum" Mechanics — Fall 2024'),
    ("custom_canvas_api_domain", "canvas.example.edu"),
    ("custom_canvas_course_id", "1234"),
    ("custom_canvas_user_id", "5678"),
    ("ext_roles", "urn:lti:instrole:ims/lis/Instructor,urn:lti:role:ims/lis/Instructor,urn:lti:sysrole:ims/lis/User"),
    ("launch_presentation_document_target", "iframe"),
    ("launch_presentation_height", "400"),
    ("launch_presentation_locale", "en"),
    (
        "launch_presentation_return_url",
        "https://canvas.example.edu/courses/1234/external_content/success/external_tool_redirect",
    ),
    ("launch_presentation_width", "800"),
    ("lis_outcome_service_url", "https://canvas.example.edu/api/lti/v1/tools/42/grade_passback"),
    ("lis_person_contact_email_primary", "ada@example.edu"),
    ("lis_person_name_family", "Lovelace"),
    ("lis_person_name_full", "Ada Lovelace"),
    ("lis_person_name_given", "Ada"),
    ("lis_result_sourcedid", "42-1234-99-5678-54b0c1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8"),
    ("lti_message_type", "basic-lti-launch-request"),
    ("lti_version", "LTI-1p0"),
    ("resource_link_id", "a6b1f7c8d3e2b1a0f9e8d7c6b5a4f3e2d1c0b9a8"),
    ("resource_link_title", "Unit 3: Waves"),
    ("roles", "Instructor"),
    ("tool_consumer_info_product_family_code", "canvas"),
    ("tool_consumer_info_version", "cloud"),
    ("tool_consumer_instance_contact_email", "notifications@instructure.com"),
    ("tool_consumer_instance_guid", "07adb3e60637ff02d9ea11c7c74f1ca921699bd7.canvas.example.edu"),
    ("tool_consumer_instance_name", "Example University"),
    ("user_id", "535fa085f22b4655f48cd5a36a9215f64c062838"),
    ("user_image", "https://canvas.example.edu/images/messages/avatar-50.png"),
]

MOODLE_SOURCEDID = (
    '{"data":{"instanceid":"3","userid":"42","typeid":"1","launchid":1234567890},'
    '"hash":"0f0e0d0c0b0a09080706050403020100a1b2c3d4e5f60718293a4b5c6d7e8f90"}'
)
MOODLE = [
    ("context_id", "7"),
    ("context_label", "CHEM1"),
    ("context_title", "Chemistry 1: Atoms & Bonds"),
    ("context_type", "CourseSection"),
    ("custom_unit", "intro & setup"),
    ("custom_level", "2 + 2 = 4 (100%)"),
    ("ext_lms", "moodle-2"),
    ("ext_user_username", "zoe"),
    ("launch_presentation_document_target", "iframe"),
    ("launch_presentation_locale", "fr"),
    (
        "launch_presentation_return_url",
        "https://moodle.example.org/mod/lti/return.php?course=7&launch_container=3&instanceid=3&sesskey=Ab12",
    ),
    ("lis_course_section_sourcedid", ""),
    ("lis_outcome_service_url", "https://moodle.example.org/mod/lti/service.php"),
    ("lis_person_contact_email_primary", "zoe@example.org"),
    ("lis_person_name_family", "Ñúñez-O'Connor"),
    ("lis_person_name_full", "Zoë Ñúñez-O'Connor 🧪"),
    ("lis_person_name_given", "Zoë"),
    ("lis_person_sourcedid", ""),
    ("lis_result_sourcedid", MOODLE_SOURCEDID),
    ("lti_message_type", "basic-lti-launch-request"),
    ("lti_version", "LTI-1p0"),
    ("resource_link_description", ""),
    ("resource_link_id", "3"),
    ("resource_link_title", "Codio: unit «Atoms»"),
    ("roles", "Instructor,urn:lti:sysrole:ims/lis/Administrator,urn:lti:instrole:ims/lis/Administrator"),
    ("tool_consumer_info_product_family_code", "moodle"),
    ("tool_consumer_info_version", "2023100900"),
    ("tool_consumer_instance_guid", "moodle.example.org"),
    ("tool_consumer_instance_name", "Example Moodle"),
    ("user_id", "42"),
]
