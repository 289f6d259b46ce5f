// Jinja renderer feature tests. Every template below is rendered with kVariables and must produce
// exactly the expected string. The expected strings were NOT written by hand: each one is the output
// of Python jinja2 3.1.2 configured as transformers configures it for chat templates
// (ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]),
// transformers' tojson = json.dumps(ensure_ascii=False, ...), strftime_now pinned to 2026-04-08),
// i.e. verified against jinja2. kRenderErrors must fail while rendering where jinja2 raises (with the
// same Python exception class where one is given); kSyntaxErrors must fail to parse, naming the
// line jinja2 names.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "text/chat_template.h"

namespace muse::text {
namespace {

struct RenderCase {
  const char* name;
  const char* source;
  const char* expected;
};

struct ErrorCase {
  const char* name;
  const char* source;
  const char* python_class;  // nullptr: only the failure itself is checked
};

struct SyntaxCase {
  const char* name;
  const char* source;
  unsigned line;
};

constexpr const char* kVariables = R"json(
{"messages":[{"role":"system","content":"Be nice."},{"role":"user","content":"Hi <b> & 'q'"},{"role":"assistant","content":"Hello!","tool_calls":[{"id":"call00001","type":"function","function":{"name":"f","arguments":{"a":1,"b":[1,2.5,null,true]}}}]}],
 "tools":[{"type":"function","function":{"name":"get_weather","description":"Get weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","enum":[1,2]}},"required":["city"]}}}],
 "n":5,"f":2.5,"s":"héllo wörld","e":"","l":[3,1,2],"d":{"b":1,"a":2},"none_v":null,"t":true,"big":123456789012}
)json";

constexpr RenderCase kWhitespace[] = {
    {"trim_blocks_lstrip_blocks",
     "a\n  {% if true %}\n  b\n  {% endif %}\n c",
     "a\n  b\n c"},
    {"plus_disables_both",
     "a\n  {%+ if true %}\n  b\n  {%+ endif +%}\n c",
     "a\n    b\n  \n c"},
    {"minus_strips_all",
     "a  {%- if true -%}  b  {%- endif -%}  c",
     "abc"},
    {"variable_tags_not_lstripped",
     "  {{ 1 }}  \n  {{- 2 -}}  \n x",
     "  12x"},
    {"comments",
     "{# comment #}\nx\n  {# c2 #}  \ny\n{#- c3 -#}  z",
     "x\n  \nyz"},
    {"raw_block",
     "{% raw %}\n  {{ x }} {% if %}\n{% endraw %}\nafter",
     "\n  {{ x }} {% if %}\nafter"},
    {"raw_block_stripped",
     "  {%- raw -%}  {{ x }}  {%- endraw -%}  end",
     "{{ x }}end"},
    {"newlines_normalised",
     "line1\r\nline2\rline3\n",
     "line1\nline2\nline3"},
    {"one_trailing_newline_dropped",
     "trail\n\n",
     "trail\n"},
    {"for_loop_lines",
     "{% for i in [1,2] %}\n  {{ i }}\n{% endfor %}\n",
     "  1\n  2\n"},
    {"for_loop_minus",
     "{% for i in [1,2] -%}\n  {{ i }}\n{%- endfor %}",
     "12"},
    {"tabs_lstripped",
     "\t\t{% if 1 %}\t\tx{% endif %}",
     "\t\tx"},
    {"block_end_keeps_spaces",
     "{% if 1 %}  \n{% endif %}",
     "  \n"},
    {"set_mid_line",
     "x {% set a = 1 %}\n y",
     "x  y"},
    {"comment_after_print",
     "{{ 'a' }}{# x #}\n{{ 'b' }}",
     "ab"},
    {"unicode_whitespace_minus",
     "a　 {{- 'b' -}} \nc",
     "abc"},
};

constexpr RenderCase kLiterals[] = {
    {"string_escapes",
     "{{ \"a\\nb\" }}|{{ 'tab\\there' }}|{{ '\\u00e9\\U0001F600' }}|{{ '\\x41\\101\\q' }}",
     "a\nb|tab\there|é😀|AA\\q"},
    {"adjacent_strings",
     "{{ 'a' 'b' }}{{ \"c\" 'd' }}",
     "abcd"},
    {"numbers",
     "{{ 0b1010 }} {{ 0o777 }} {{ 0xff }} {{ 1_000_000 }} {{ 1.5e+3 }} {{ 12.5E-1 }}",
     "10 511 255 1000000 1500.0 1.25"},
    {"floats_print_like_python",
     "{{ 1e16 }} {{ 1e15 }} {{ 123.456e5 }} {{ 0.1 + 0.7 }} {{ 5e-324 }} {{ 1.7976931348623157e308 }} {{ 1e-5 }} {{ 0.0001 }} {{ -0.0 }}",
     "1e+16 1000000000000000.0 12345600.0 0.7999999999999999 5e-324 1.7976931348623157e+308 1e-05 0.0001 -0.0"},
    {"constants",
     "{{ true }} {{ True }} {{ false }} {{ none }} {{ None }}",
     "True True False None None"},
    {"containers_repr",
     "{{ [1, 'a', none, true, 1.5, (2,), {'k': 'v'}] }}",
     "[1, 'a', None, True, 1.5, (2,), {'k': 'v'}]"},
    {"string_repr_quotes",
     "{{ ['é', 'a\\nb', \"it's\", 'say \"x\"', '\\x00\\x7f', '\\u200d'] }}",
     "['é', 'a\\nb', \"it's\", 'say \"x\"', '\\x00\\x7f', '\\u200d']"},
    {"tuples",
     "{{ (1, 2, 3)|list }} {{ ('a',) }} {{ (messages|length, 2) }} {{ () }}",
     "[1, 2, 3] ('a',) (3, 2) ()"},
    {"dict_literal_keys",
     "{{ {1: 2, 'a': (1, 2), none: true} }}",
     "{1: 2, 'a': (1, 2), None: True}"},
    {"print_tuple",
     "{{ 1, 'a' }}",
     "(1, 'a')"},
    {"namespace_repr",
     "{{ namespace(a=1) }}",
     "<Namespace {'a': 1}>"},
};

constexpr RenderCase kOperators[] = {
    {"arithmetic",
     "{{ n + f }} {{ n * f }} {{ n / 2 }} {{ n // 2 }} {{ n % 3 }} {{ n ** 2 }} {{ -n }} {{ big * 1000 }}",
     "7.5 12.5 2.5 2 2 25 -5 123456789012000"},
    {"division_and_modulo",
     "{{ 10 / 4 }} {{ 10 // 4 }} {{ -10 // 4 }} {{ 10 % -3 }} {{ -7 % 3 }} {{ 10.5 % 3 }} {{ 7 // 2.0 }} {{ -7.5 // 2 }}",
     "2.5 2 -3 -2 2 1.5 3.0 -4.0"},
    {"power",
     "{{ 2 ** 10 }} {{ 2 ** 0.5 }} {{ 9 ** 0.5 }} {{ (-8) ** 2 }} {{ 2 ** -1 }} {{ 2**3**2 }}",
     "1024 1.4142135623730951 3.0 64 0.5 64"},
    {"float_results",
     "{{ 0.1 * 3 }} {{ 1e-7 }} {{ 123456789.0 * 10 }} {{ 1.0 / 3 }} {{ 1.5e300 * 1e10 }}",
     "0.30000000000000004 1e-07 1234567890.0 0.3333333333333333 inf"},
    {"bools_are_ints",
     "{{ true + true }} {{ true * 3 }} {{ 5 - true }} {{ -true }} {{ true / 2 }}",
     "2 3 4 -1 0.5"},
    {"sequence_ops",
     "{{ 'x' * 3 }} {{ [1] * 2 }} {{ 3 * 'ab' }} {{ [1] + [2] }} {{ (1,) + (2,) }} {{ 'ab' * -1 }}|",
     "xxx [1, 1] ababab [1, 2] (1, 2) |"},
    {"concat",
     "{{ 'a' ~ 1 ~ none ~ true ~ 1.0 ~ [1] ~ undefined_x }}",
     "a1NoneTrue1.0[1]"},
    {"comparisons",
     "{{ 'a' < 'b' }} {{ [1,2] < [1,3] }} {{ [1,2] == [1,2] }} {{ (1,2) == [1,2] }} {{ {'a':1} == {'a':1} }} {{ 1 == 1.0 }} {{ true == 1 }}",
     "True True True False True True True"},
    {"chained_comparisons",
     "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1 == 1 }} {{ 1 < 2 > 1 }} {{ 1 != 1.0 }}",
     "True False True True False"},
    {"membership",
     "{{ 1 in [1.0] }} {{ 'x' in {'x': 1} }} {{ 'ell' in 'hello' }} {{ none in [none] }} {{ 2 not in [1] }} {{ 'x' in undefined_x }}",
     "True True True True True False"},
    {"logic_returns_operands",
     "{{ true and 'x' }} {{ 0 or '' }}|{{ none or 'y' }} {{ not [] }} {{ true and false or 'x' }} {{ 0 or none or '' or 'last' }}",
     "x |y True x last"},
    {"conditional_expression",
     "{{ 'a' if true else 'b' }} {{ 'a' if false else 'b' }} {{ 'a' if none }}|{{ 1 if 0 else 2 if 0 else 3 }}",
     "a b |3"},
    {"unary_and_filters",
     "{{ -1|abs }} {{ - 'a'|upper if false else 3 }} {{ not 1 is odd }}",
     "1 3 False"},
    {"percent_format",
     "{{ '%s=%d' % ('a', 1) }} {{ '%.2f' % 3.14159 }} {{ '%5.1f|%-6s|%06d' % (2.25, 'x', -42) }} {{ '%x %X %#o %e %g %r %%' % (255, 255, 8, 1234.5, 0.0001, 'q') }} {{ '%(a)s-%(b)03d' % {'a': 'x', 'b': 2} }}",
     "a=1 3.14   2.2|x     |-00042 ff FF 0o10 1.234500e+03 0.0001 'q' % x-002"},
};

constexpr RenderCase kAccess[] = {
    {"attribute_and_item",
     "{{ d.b }}{{ d['a'] }} {{ messages[0].role }} {{ messages[-1]['role'] }} {{ messages.0.role }}",
     "12 system assistant system"},
    {"missing_is_undefined",
     "{{ d.missing }}|{{ d.missing is defined }}|{{ d.missing or 'fallback' }}|{{ messages[10] }}|{{ none.foo }}|{{ 'abc'[5] }}",
     "|False|fallback|||"},
    {"methods_win_over_keys",
     "{{ {'items': 5}['items'] }} {{ {'get': 1}.get('get') }} {{ d.keys()|list }}",
     "5 1 ['b', 'a']"},
    {"sandbox_blocks_dunder",
     "{{ 'ab'.__class__ }}|{{ {'pop': 1}.pop }}|{{ {'pop': 1}['pop'] }}",
     "||1"},
    {"slices",
     "{{ [1,2,3][1:] }} {{ [1,2,3][:-1] }} {{ [1,2,3][::2] }} {{ 'hello'[-3:] }} {{ [1,2,3][5:] }} {{ [1,2,3][::-1] }} {{ 'héllo'[::-1] }} {{ s[1:4] }} {{ (1,2,3)[1:] }}",
     "[2, 3] [1, 2] [1, 3] llo [] [3, 2, 1] olléh éll (2, 3)"},
    {"string_indexing_is_by_character",
     "{{ 'héllo'[1] }} {{ 'héllo'|length }} {{ '😀x'[1] }}",
     "é 5 x"},
};

constexpr RenderCase kFilters[] = {
    {"string_case",
     "{{ s|upper }} {{ s|lower }} {{ s|title }} {{ s|capitalize }} {{ 'hello world-foo (bar)'|title }}",
     "HÉLLO WÖRLD héllo wörld Héllo Wörld Héllo wörld Hello World-Foo (Bar)"},
    {"trim_replace_center",
     "{{ '  x  '|trim }}|{{ 'xxhixx'|trim('x') }} {{ 'a b'|replace(' ', '_') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'ab'|center(6) }}|",
     "x|hi a_b bba   ab  |"},
    {"length_count",
     "{{ [1,2,3]|length }} {{ 'héllo'|count }} {{ {'a':1}|length }} {{ undefined_x|length }}",
     "3 5 1 0"},
    {"first_last",
     "{{ l|first }} {{ l|last }} {{ 'abc'|first }} {{ []|first }}|{{ {'a':1,'b':2}|last }}",
     "3 2 a |b"},
    {"join",
     "{{ [1,2]|join(',') }} {{ [1,none]|join }} {{ messages|join('|', attribute='role') }} {{ undefined_x|join }}|",
     "1,2 1None system|user|assistant |"},
    {"list_string",
     "{{ 'abc'|list }} {{ {'a':1}|list }} {{ 'x'|string }} {{ 1|string }} {{ [1]|string }} {{ none|string }} {{ undefined_x|list }}",
     "['a', 'b', 'c'] ['a'] x 1 [1] None []"},
    {"default",
     "{{ 'x'|default('d') }} {{ undefined_q|default('d') }} {{ ''|default('d', true) }} {{ none|d('n') }} {{ e|default('empty', true) }}",
     "x d d None empty"},
    {"sort",
     "{{ l|sort }} {{ l|sort(reverse=true) }} {{ ['b','A','a']|sort }} {{ ['b','A','c']|sort(case_sensitive=true) }} {{ [{'n':'b'},{'n':'A'}]|sort(attribute='n')|map(attribute='n')|list }}",
     "[1, 2, 3] [3, 2, 1] ['A', 'a', 'b'] ['A', 'b', 'c'] ['A', 'b']"},
    {"sort_multiple_attributes",
     "{{ [{'a':1,'b':2},{'a':1,'b':1},{'a':0,'b':9}]|sort(attribute='a,b')|map(attribute='b')|list }}",
     "[9, 1, 2]"},
    {"unique",
     "{{ [3,1,3]|unique|list }} {{ ['A','a','b']|unique|list }} {{ ['A','a','b']|unique(case_sensitive=true)|list }}",
     "[3, 1] ['A', 'b'] ['A', 'a', 'b']"},
    {"min_max_sum",
     "{{ l|max }} {{ l|min }} {{ l|sum }} {{ ['b','A']|min }} {{ []|max }}|{{ [{'v':2},{'v':5}]|sum(attribute='v') }} {{ [[1],[2]]|sum(start=[]) }}",
     "3 1 6 A |7 [1, 2]"},
    {"reverse",
     "{{ l|reverse|list }} {{ 'abc'|reverse }} {{ d|reverse|list }}",
     "[2, 1, 3] cba ['a', 'b']"},
    {"dictsort_items",
     "{{ d|dictsort }} {{ d|dictsort(by='value') }} {{ d|dictsort(reverse=true) }} {{ d|items|list }} {{ undefined_x|items|list }}",
     "[('a', 2), ('b', 1)] [('b', 1), ('a', 2)] [('b', 1), ('a', 2)] [('b', 1), ('a', 2)] []"},
    {"map",
     "{{ ['a','b']|map('upper')|join }} {{ messages|map(attribute='role')|join(',') }} {{ [{'a':1},{}]|map(attribute='a', default=9)|list }} {{ [[1,'a'],[2,'b']]|map('first')|list }} {{ [{'a':{'b':5}}]|map(attribute='a.b')|list }} {{ [[1,2]]|map(attribute='1')|list }}",
     "AB system,user,assistant [1, 9] [1, 2] [5] [2]"},
    {"select_reject",
     "{{ [1,2,3,4]|select('odd')|list }} {{ [1,2,3,4]|reject('odd')|list }} {{ [0,1,'',none]|select|list }} {{ [1, 2, 3]|select('>', 1)|list }} {{ [1,2,3,4]|select('divisibleby', 2)|list }}",
     "[1, 3] [2, 4] [1] [2, 3] [2, 4]"},
    {"selectattr_rejectattr",
     "{{ messages|selectattr('role','equalto','user')|list|length }} {{ messages|rejectattr('role','in',['system','user'])|map(attribute='role')|list }} {{ messages|selectattr('tool_calls', 'defined')|list|length }} {{ messages|selectattr('tool_calls')|first|attr('role') }}",
     "1 ['assistant'] 1 "},
    {"generators_are_truthy",
     "{% if []|select %}T{% endif %}{% if []|map('upper') %}U{% endif %}{{ [1,2]|selectattr('x') if [] else 'no' }}",
     "TUno"},
    {"generators_are_used_up",
     "{% set g = [1,2]|map('string') %}{{ g|join }}|{{ g|join }}|",
     "12||"},
    {"batch_slice",
     "{{ 'abc'|batch(2)|list }} {{ [1,2,3,4,5]|slice(2)|list }} {{ [1,2,3]|batch(2, 'x')|list }}",
     "[['a', 'b'], ['c']] [[1, 2, 3], [4, 5]] [[1, 2], [3, 'x']]"},
    {"groupby",
     "{% for g, items in [{'k':'x','v':1},{'k':'Y','v':2},{'k':'x','v':3},{'k':'y','v':4}]|groupby('k') %}{{ g }}:{{ items|map(attribute='v')|list }};{% endfor %}",
     "x:[1, 3];Y:[2, 4];"},
    {"numbers",
     "{{ -3|abs }} {{ 3.7|int }} {{ '3.7'|float }} {{ 'x'|int(7) }} {{ '0x10'|int(0, 16) }} {{ '42.7'|int }} {{ ' 12 '|int }} {{ '1_000'|int }} {{ true|int }} {{ 'inf'|float }} {{ 'x'|float }}",
     "3 3 3.7 7 16 42 12 1000 1 inf 0.0"},
    {"round",
     "{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 3|round }} {{ -2.5|round(0,'floor') }} {{ 2.1|round(0,'ceil') }} {{ 12345|round(-2) }} {{ 1250|round(-2) }} {{ 1350|round(-2) }}",
     "2.0 4.0 2.67 3 -3.0 3.0 12300 1200 1400"},
    {"indent",
     "{{ 'abc'|indent }}|{{ 'a\\nb'|indent(first=true) }}|{{ 'a\\n\\nb\\n'|indent(3) }}|{{ 'a\\n\\nb'|indent('>', blank=true) }}",
     "abc|    a\n    b|a\n\n   b\n|a\n>\n>b"},
    {"wordcount_truncate",
     "{{ 'hello world foo'|wordcount }} {{ 'a very long sentence here'|truncate(10) }} {{ 'a very long sentence here'|truncate(10, true) }} {{ 'short'|truncate(10) }}",
     "3 a very... a very ... short"},
    {"escape_safe",
     "{{ 'a'|e }}{{ '<>&\"\\''|e }}{{ '<b>'|safe }}{{ ('<b>'|safe + '<i>') }}{{ ('<b>'|e) + '<i>' }}{{ ('<b>'|safe) ~ '<i>' }}{{ '<'|forceescape }}",
     "a&lt;&gt;&amp;&#34;&#39;<b><b>&lt;i&gt;&lt;b&gt;&lt;i&gt;<b><i>&lt;"},
    {"format_filter",
     "{{ '%s and %s'|format('a', 'b') }} {{ '%(x)s!'|format(x=1) }}",
     "a and b 1!"},
    {"misc",
     "{{ 1000|filesizeformat }} {{ 1024|filesizeformat(true) }} {{ 1|filesizeformat }} {{ '<p>Hi <b>there</b></p>  &amp; you'|striptags }} {{ 'a b&c'|urlencode }} {{ {'k':'v w'}|urlencode }} {{ 'x'|attr('upper')() }}",
     "1.0 kB 1.0 KiB 1 Byte Hi there & you a%20b%26c k=v+w X"},
};

constexpr RenderCase kTojson[] = {
    {"compact_and_indented",
     "{%- set x = {'a': 1, 'b': [1, 2, {'c': none}], 'e': {}} -%}{{ x|tojson }}|{{ x|tojson(indent=2) }}|{{ x|tojson(sort_keys=true) }}|{{ x|tojson(separators=(',', ':')) }}",
     "{\"a\": 1, \"b\": [1, 2, {\"c\": null}], \"e\": {}}|{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2,\n    {\n      \"c\": null\n    }\n  ],\n  \"e\": {}\n}|{\"a\": 1, \"b\": [1, 2, {\"c\": null}], \"e\": {}}|{\"a\":1,\"b\":[1,2,{\"c\":null}],\"e\":{}}"},
    {"indent_string_and_sort",
     "{{ {'b': 1, 'a': {'d': 1, 'c': 2}}|tojson(indent='\\t', sort_keys=true) }}",
     "{\n\t\"a\": {\n\t\t\"c\": 2,\n\t\t\"d\": 1\n\t},\n\t\"b\": 1\n}"},
    {"floats",
     "{{ [1.0, 1e20, 1.5e-10, -0.0, 3.14159, 1e16]|tojson }}",
     "[1.0, 1e+20, 1.5e-10, -0.0, 3.14159, 1e+16]"},
    {"escaping",
     "{{ 'é\"\\\\/\\u0001\\u007f\\u2028<>&\\''|tojson }}|{{ 'é😀'|tojson(ensure_ascii=true) }}|{{ 'x'|tojson(4) }}",
     "\"é\\\"\\\\/\\u0001\177 <>&'\"|\"\\u00e9\\ud83d\\ude00\"|\"x\""},
    {"key_order_preserved",
     "{{ messages|tojson }}|{{ tools|tojson(indent=4) }}",
     "[{\"role\": \"system\", \"content\": \"Be nice.\"}, {\"role\": \"user\", \"content\": \"Hi <b> & 'q'\"}, {\"role\": \"assistant\", \"content\": \"Hello!\", \"tool_calls\": [{\"id\": \"call00001\", \"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": {\"a\": 1, \"b\": [1, 2.5, null, true]}}}]}]|[\n    {\n        \"type\": \"function\",\n        \"function\": {\n            \"name\": \"get_weather\",\n            \"description\": \"Get weather\",\n            \"parameters\": {\n                \"type\": \"object\",\n                \"properties\": {\n                    \"city\": {\n                        \"type\": \"string\"\n                    },\n                    \"days\": {\n                        \"type\": \"integer\",\n                        \"enum\": [\n                            1,\n                            2\n                        ]\n                    }\n                },\n                \"required\": [\n                    \"city\"\n                ]\n            }\n        }\n    }\n]"},
    {"non_string_keys",
     "{{ {1: 'a', true: 'b', none: 'c', 1.5: 'd'}|tojson }}",
     "{\"1\": \"b\", \"null\": \"c\", \"1.5\": \"d\"}"},
};

constexpr RenderCase kTests[] = {
    {"type_tests",
     "{{ 'a' is string }} {{ 1 is number }} {{ true is number }} {{ 1.0 is integer }} {{ true is integer }} {{ true is boolean }} {{ 1.5 is float }} {{ {} is mapping }} {{ none is none }}",
     "True True True False False True True True True"},
    {"container_tests",
     "{{ 'a' is iterable }} {{ 'a' is sequence }} {{ {} is sequence }} {{ 5 is iterable }} {{ undefined_x is iterable }} {{ undefined_x is sequence }} {{ undefined_x is mapping }} {{ [] is iterable }}",
     "True True True False True True False True"},
    {"value_tests",
     "{{ 5 is odd }} {{ 4 is even }} {{ 4 is divisibleby 2 }} {{ 'a' is in 'abc' }} {{ 1 is eq 1 }} {{ 1 is ne 2 }} {{ 1 is lt 2 }} {{ 'ab' is lower }} {{ 'AB' is upper }} {{ 2 is equalto 2 }} {{ 3 is greaterthan 2 }}",
     "True True True True True True True True True True True"},
    {"identity_tests",
     "{{ x is not defined }} {{ none is defined }} {{ x is undefined }} {{ 1 is sameas 1 }} {{ 1 is true }} {{ true is true }} {{ false is false }} {{ range is callable }} {{ 'x' is callable }}",
     "True True True True False True True True False"},
    {"meta_tests",
     "{{ 'x' is escaped }} {{ ('x'|e) is escaped }} {{ 'upper' is filter }} {{ 'nope' is test }} {{ 'odd' is test }}",
     "False True True False True"},
    {"test_argument_forms",
     "{{ 3 is divisibleby(3) }} {{ 'a' is in(['a']) }} {{ none is sameas none }}",
     "True True True"},
};

constexpr RenderCase kStatements[] = {
    {"if_elif_else",
     "{% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %};{% endfor %}",
     "one;two;many;"},
    {"for_loop_variables",
     "{% for x in [1,2,3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.cycle('a','b') }}|{% endfor %}",
     "1032TrueFalse3a|2121FalseFalse3b|3210FalseTrue3a|"},
    {"previtem_nextitem",
     "{% for x in [1,2,3] %}{{ loop.previtem }}-{{ loop.nextitem }}|{% endfor %}",
     "-2|1-3|2-|"},
    {"for_filter_and_else",
     "{% for x in [1,2,3] if x > 1 %}{{ loop.index }}/{{ loop.length }}:{{ x }} {% else %}none{% endfor %}{% for x in [] %}a{% else %}empty{% endfor %}",
     "1/2:2 2/2:3 empty"},
    {"for_else_runs_after_break_in_first_iteration",
     "{% for x in [1,2] %}{% break %}{% else %}else{% endfor %}|{% for x in [1,2] %}{% continue %}{% else %}else{% endfor %}|{% for x in [1,2] %}{% if x == 2 %}{% continue %}{% endif %}{% else %}else{% endfor %}",
     "else|else|"},
    {"break_continue",
     "{% for i in range(10) %}{% if i is even %}{% continue %}{% endif %}{% if i > 6 %}{% break %}{% endif %}{{ i }}{% endfor %}",
     "135"},
    {"unpacking",
     "{% for k, v in {'a':1,'b':2}.items() %}{{ k }}={{ v }};{% endfor %}{% for a, b in [[1,2],[3,4]] %}{{ a+b }}{% endfor %}{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set p, q = 'xy' %}{{ q }}{{ p }}",
     "a=1;b=2;3712yx"},
    {"iterate_strings_and_dicts",
     "{% for x in 'abc' %}{{ x }}{{ loop.revindex }}{% endfor %}{% for x in d %}{{ x }}{% endfor %}",
     "a3b2c1ba"},
    {"nested_loops",
     "{% for a in [1,2] %}{% for b in [3,4] %}{{ loop.index }}{{ a }}{% endfor %}{{ loop.index }}{% endfor %}",
     "1121112222"},
    {"recursive_loop",
     "{% for item in [{'n':'a','c':[{'n':'b','c':[]}]}] recursive %}{{ item.n }}({{ loop(item.c) }}){{ loop.depth }}{% endfor %}",
     "a(b()2)1"},
    {"loop_changed",
     "{% for x in [1,1,2] %}{{ loop.changed(x) }}{% endfor %}",
     "TrueFalseTrue"},
    {"set_block_and_filter",
     "{% set t %}  block  {{ 1 + 1 }}  {% endset %}[{{ t }}]{% set u | trim | upper %}  block  {% endset %}[{{ u }}]",
     "[  block  2  ][BLOCK]"},
    {"filter_block",
     "{% filter upper %}hi {{ 'there' }}{% endfilter %}",
     "HI THERE"},
    {"with_block",
     "{% with x = 5, y = 2 %}{{ x * y }}{% endwith %}{{ x }}",
     "10"},
    {"namespace_accumulates",
     "{% set ns = namespace(a=[], n=0) %}{% for i in range(3) %}{% set ns.a = ns.a + [i] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.a }}{{ ns.n }}",
     "[0, 1, 2]3"},
    {"builtins",
     "{{ range(5)|list }} {{ range(2, 8, 2)|list }} {{ range(5, 0, -2)|list }} {{ range(0)|list }} {{ dict(a=1, b=2) }} {{ dict([('x', 1)]) }} {{ namespace(x=1).x }}",
     "[0, 1, 2, 3, 4] [2, 4, 6] [5, 3, 1] [] {'a': 1, 'b': 2} {'x': 1} 1"},
    {"joiner_cycler",
     "{% set j = joiner(', ') %}{% for i in [1,2,3] %}{{ j() }}{{ i }}{% endfor %}{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{{ c.current }}",
     "1, 2, 3abab"},
    {"print_tag",
     "{% print 'a', 1 %}",
     "a1"},
    {"strftime_now",
     "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %j') }}|{{ strftime_now('%B %d, %Y') }}",
     "08 Apr 2026|2026-04-08 00:00:00 Wednesday 098|April 08, 2026"},
};

constexpr RenderCase kScoping[] = {
    {"set_in_loop_is_local_per_iteration",
     "{% set x = 1 %}{% for i in [1,2] %}{{ x }}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }}",
     "12121"},
    {"loop_variables_reset_each_iteration",
     "{% for i in range(3) %}{% if i == 0 %}{% set x = 'a' %}{% endif %}[{{ x }}]{% endfor %}",
     "[a][][]"},
    {"set_in_loop_does_not_leak",
     "{% for i in [1,2] %}{% set x = i %}{% endfor %}[{{ x }}]",
     "[]"},
    {"set_in_if_at_top_level_leaks",
     "{% if true %}{% set x = 'in' %}{% endif %}{{ x }}",
     "in"},
    {"top_level_set_shadows_variable",
     "{% set messages = messages[1:] %}{{ messages|length }}",
     "2"},
    {"macro_sees_top_level_at_call_time",
     "{% set x = 1 %}{% macro m() %}{{ x }}{% endmacro %}{% set x = 2 %}{{ m() }}",
     "2"},
    {"macro_does_not_see_caller_loop",
     "{% macro m() %}{{ i }}{% endmacro %}{% for i in [1,2] %}[{{ m() }}]{% endfor %}",
     "[][]"},
    {"macro_in_loop_sees_loop",
     "{% for i in [1,2] %}{% macro m() %}{{ i }}{% endmacro %}{{ m() }}{% endfor %}",
     "12"},
    {"macro_set_is_local",
     "{% macro m(a, b=a+1) %}{{ a }},{{ b }}{% set z = 5 %}{% endmacro %}{{ m(1) }}|{{ z }}",
     "1,2|"},
    {"macro_outer_vs_loop",
     "{% set x = 'outer' %}{% macro m() %}{{ x }}{% endmacro %}{% for i in [1] %}{% set x = 'inner' %}{{ m() }}{% endfor %}",
     "outer"},
    {"filter_block_is_scoped",
     "{% filter upper %}{% set x = 1 %}{% endfilter %}{{ x }}",
     ""},
};

constexpr RenderCase kMacros[] = {
    {"defaults_and_keywords",
     "{% macro greet(name, punct='!') -%}Hello {{ name }}{{ punct }}{%- endmacro %}{{ greet('A') }} {{ greet('B', punct='?') }} {{ greet(name='C') }}",
     "Hello A! Hello B? Hello C!"},
    {"missing_argument_is_undefined",
     "{% macro m(a) %}[{{ a }}]{% endmacro %}{{ m() }}",
     "[]"},
    {"varargs_kwargs",
     "{% macro m(a) %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }}",
     "(2, 3){'x': 4}"},
    {"recursion",
     "{% macro r(n) %}{% if n > 0 %}{{ n }}{{ r(n - 1) }}{% endif %}{% endmacro %}{{ r(5) }}",
     "54321"},
    {"caller",
     "{% macro m(a) %}[{{ caller(a * 2) }}]{% endmacro %}{% call(x) m(1) %}body{{ x }}{% endcall %}{% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}inner{% endcall %}",
     "[body2]<inner>"},
    {"star_arguments",
     "{% macro m(a, b) %}{{ a }}{{ b }}{% endmacro %}{{ m(*[1,2]) }}{{ m(**{'a':3,'b':4}) }}",
     "1234"},
    {"macro_result_is_string",
     "{% macro m() %}x{% endmacro %}{{ m() + 'y' }}{{ m()|length }}{{ (m() ~ m())|upper }}",
     "xy1XX"},
};

constexpr RenderCase kMethods[] = {
    {"str_methods",
     "{{ 'abc'.upper().lower().replace('b', 'B') }} {{ ' a b '.strip().split(' ') }} {{ 'a\\nb\\r\\nc'.splitlines() }} {{ 'x'.join(['1','2']) }} {{ 'Hello World'.title() }} {{ 'hello'.capitalize() }} {{ 'AbC'.swapcase() }}",
     "aBc ['a', 'b'] ['a', 'b', 'c'] 1x2 Hello World Hello aBc"},
    {"str_split_variants",
     "{{ 'a b  c'.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ '  x  y '.split(None, 1) }} {{ s.split('ö') }}",
     "['a', 'b', 'c'] ['a', 'b', '', 'c'] ['a', 'b,c'] ['a,b', 'c'] ['x', 'y '] ['héllo w', 'rld']"},
    {"str_strip_variants",
     "{{ '  x '.strip() }}| {{ 'xxaxx'.strip('x') }} {{ '\\n\\nq\\n'.lstrip('\\n') }}|{{ 'q\\n\\n'.rstrip() }}|",
     "x| a q\n|q|"},
    {"str_search",
     "{{ 'abcabc'.find('c') }} {{ 'abcabc'.rfind('c') }} {{ 'abcabc'.count('b') }} {{ 'abc'.startswith(('x','a')) }} {{ 'abc'.endswith('bc') }} {{ s.find('w') }} {{ s.count('l') }} {{ s.startswith('hé') }}",
     "2 5 2 True True 6 3 True"},
    {"str_predicates",
     "{{ 'abc'.isalpha() }} {{ '123'.isdigit() }} {{ 'Ab'.islower() }} {{ '  '.isspace() }} {{ 'Ab Cd'.istitle() }} {{ 'AB'.isupper() }} {{ 'a1'.isalnum() }}",
     "True True False True True True True"},
    {"str_layout",
     "{{ 'a,b'.partition(',') }} {{ 'abc'.removeprefix('a') }} {{ 'x'.ljust(3, '.') }}|{{ 'x'.rjust(3) }} {{ '42'.zfill(5) }} {{ '-4'.zfill(4) }} {{ 'x'.center(5, '*') }}",
     "('a', ',', 'b') bc x..|  x 00042 -004 **x**"},
    {"str_format",
     "{{ '{} and {}'.format('x', 'y') }} {{ '{0}{1}{0}'.format('a','b') }} {{ '{name}!'.format(name='N') }} {{ '{:08.3f}|{:>6}|{:^7}|{:,}'.format(3.14159, 'r', 'c', 1234567) }} {{ '{:x} {:#b} {:+d} {:e} {:.1%} {!r}'.format(255, 5, 3, 1234.5, 0.256, 'q') }}",
     "x and y aba N! 0003.142|     r|   c   |1,234,567 ff 0b101 +3 1.234500e+03 25.6% 'q'"},
    {"dict_methods",
     "{{ {'a':1}.get('a', 5) }} {{ {'a':1}.get('b') }} {{ {'a':1}.get('b', 2) }} {{ {'a':1}.keys()|list }} {{ {'a':1}.values()|list }} {{ {'a':1}.copy() }}",
     "1 None 2 ['a'] [1] {'a': 1}"},
    {"list_methods",
     "{{ [1,2,3].index(2) }} {{ [1,2,2].count(2) }} {% set k = [1,2,3] %}{{ k.pop() }}{{ k }}",
     "1 2 3[1, 2]"},
};

constexpr RenderCase kUndefined[] = {
    {"prints_empty",
     "[{{ undefined_x }}]{{ undefined_x|string }}|{{ undefined_x|lower }}|{{ undefined_x ~ '' }}|{{ undefined_x is string }}",
     "[]|||False"},
    {"is_falsy",
     "{% if undefined_x %}y{% else %}n{% endif %}{% if not undefined_x %}N{% endif %}{{ undefined_x == undefined_y }}",
     "nNTrue"},
    {"iterates_empty",
     "{% for x in undefined_x %}a{% else %}empty{% endfor %}",
     "empty"},
};

constexpr ErrorCase kRenderErrors[] = {
    {"undefined_arithmetic", "{{ undefined_x + 1 }}", "UndefinedError"},
    {"undefined_attribute", "{{ undefined_x.attr }}", "UndefinedError"},
    {"undefined_item", "{{ undefined_x['k'] }}", "UndefinedError"},
    {"undefined_call", "{{ undefined_x() }}", "UndefinedError"},
    {"undefined_tojson", "{{ undefined_x|tojson }}", "TypeError"},
    {"undefined_int", "{{ undefined_x|int }}", "UndefinedError"},
    {"attribute_of_undefined_attribute", "{{ d.missing.x }}", "UndefinedError"},
    {"str_plus_int", "{{ 'a' + 1 }}", "TypeError"},
    {"int_plus_str", "{{ 1 + 'a' }}", "TypeError"},
    {"list_plus_tuple", "{{ [1] + (2,) }}", "TypeError"},
    {"dict_plus_dict", "{{ {} + {} }}", "TypeError"},
    {"none_plus_int", "{{ none + 1 }}", "TypeError"},
    {"length_of_none", "{{ none|length }}", "TypeError"},
    {"length_of_int", "{{ 5|length }}", "TypeError"},
    {"iterate_none", "{% for x in none %}{% endfor %}", "TypeError"},
    {"iterate_int", "{% for x in 5 %}{% endfor %}", "TypeError"},
    {"order_int_str", "{{ 1 < 'a' }}", "TypeError"},
    {"int_in_str", "{{ 1 in 'abc' }}", "TypeError"},
    {"division_by_zero", "{{ 1 / 0 }}", "ZeroDivisionError"},
    {"floor_division_by_zero", "{{ 1 // 0 }}", "ZeroDivisionError"},
    {"modulo_by_zero", "{{ 5 is divisibleby 0 }}", "ZeroDivisionError"},
    {"slice_step_zero", "{{ [1,2,3][::0] }}", "ValueError"},
    {"index_not_found", "{{ 'abc'.index('z') }}", "ValueError"},
    {"unpack_too_few", "{% set a, b = [1] %}", "ValueError"},
    {"unpack_too_many", "{% for a, b in [[1,2,3]] %}{% endfor %}", "ValueError"},
    {"sandbox_append", "{{ [1,2].append(3) }}", "SecurityError"},
    {"sandbox_update", "{{ d.update({'x': 1}) }}", "SecurityError"},
    {"assign_attribute_on_dict", "{% set x = {} %}{% set x.y = 1 %}", nullptr},
    {"macro_too_many_args", "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", "TypeError"},
    {"macro_unknown_keyword", "{% macro m(a) %}{% endmacro %}{{ m(b=2) }}", "TypeError"},
    {"range_too_big", "{{ range(100001)|length }}", "OverflowError"},
    {"call_non_callable", "{{ 'x'() }}", "TypeError"},
    {"not_recursive_loop", "{% for x in [1] %}{{ loop(x) }}{% endfor %}", "TypeError"},
    {"last_of_generator", "{{ [1]|map('string')|last }}", "TypeError"},
    {"generator_has_no_length", "{{ [1]|select|length }}", "TypeError"},
    {"items_of_list", "{{ [1]|items|list }}", "TypeError"},
    {"join_non_strings", "{{ ','.join([1, 2]) }}", "TypeError"},
    {"unknown_filter_in_if_runs", "{% if true %}{{ 1|nofilter }}{% endif %}", nullptr},
};

constexpr SyntaxCase kSyntaxErrors[] = {
    {"unclosed_variable", "{{ x }", 1},
    {"empty_if", "{% if %}{% endif %}", 1},
    {"unclosed_if", "line one\n{% if true %}\nno end", 3},
    {"mismatched_end", "{% for x in y %}\n{% endif %}", 2},
    {"stray_end", "{% endfor %}", 1},
    {"unknown_tag", "ok\n{% foo %}", 2},
    {"do_is_not_enabled", "{% do x %}", 1},
    {"dangling_operator", "{{ 1 + }}", 1},
    {"unclosed_paren", "{{ (1, }}", 1},
    {"unclosed_list", "{{ [1, 2 }}", 1},
    {"dict_missing_colon", "{{ {'a' 1} }}", 1},
    {"unclosed_comment", "{# unclosed", 1},
    {"unclosed_string", "{{ 'unclosed }}", 1},
    {"assign_to_literal", "{% set 1 = 2 %}", 1},
    {"default_before_required", "{% macro m(a=1, b) %}{% endmacro %}", 1},
    {"break_outside_loop", "{% break %}", 1},
    {"break_in_macro_in_loop", "{% for x in [1] %}{% macro m() %}{% break %}{% endmacro %}{% endfor %}", 1},
    {"unknown_filter", "{{ x | nonexistent }}", 1},
    {"unknown_test", "{{ x is nonexistent }}", 1},
    {"empty_expression", "{{ }}", 1},
    {"missing_else_value", "{{ 1 if true else }}", 1},
    {"test_then_if", "{{ x is defined if y else z }}", 1},
    {"leading_zeros", "{{ 007 }}", 1},
    {"bad_character", "{{ a $ b }}", 1},
};

std::string render(const std::string& source) {
  const ChatTemplate t = ChatTemplate::parse(source, "test");
  RenderOptions options;
  options.clock = fixed_clock(2026, 4, 8);
  return t.render(nlohmann::ordered_json::parse(kVariables), options);
}

class JinjaRender : public ::testing::TestWithParam<RenderCase> {};

TEST_P(JinjaRender, MatchesJinja2) {
  const RenderCase& c = GetParam();
  std::string got;
  try {
    got = render(c.source);
  } catch (const TemplateError& e) {
    FAIL() << "template: " << c.source << "\nthrew: " << e.what();
  }
  EXPECT_EQ(got, c.expected) << "template: " << c.source;
}

std::string case_name(const ::testing::TestParamInfo<RenderCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Whitespace, JinjaRender, ::testing::ValuesIn(kWhitespace), case_name);
INSTANTIATE_TEST_SUITE_P(Literals, JinjaRender, ::testing::ValuesIn(kLiterals), case_name);
INSTANTIATE_TEST_SUITE_P(Operators, JinjaRender, ::testing::ValuesIn(kOperators), case_name);
INSTANTIATE_TEST_SUITE_P(Access, JinjaRender, ::testing::ValuesIn(kAccess), case_name);
INSTANTIATE_TEST_SUITE_P(Filters, JinjaRender, ::testing::ValuesIn(kFilters), case_name);
INSTANTIATE_TEST_SUITE_P(Tojson, JinjaRender, ::testing::ValuesIn(kTojson), case_name);
INSTANTIATE_TEST_SUITE_P(Tests, JinjaRender, ::testing::ValuesIn(kTests), case_name);
INSTANTIATE_TEST_SUITE_P(Statements, JinjaRender, ::testing::ValuesIn(kStatements), case_name);
INSTANTIATE_TEST_SUITE_P(Scoping, JinjaRender, ::testing::ValuesIn(kScoping), case_name);
INSTANTIATE_TEST_SUITE_P(Macros, JinjaRender, ::testing::ValuesIn(kMacros), case_name);
INSTANTIATE_TEST_SUITE_P(Methods, JinjaRender, ::testing::ValuesIn(kMethods), case_name);
INSTANTIATE_TEST_SUITE_P(Undefined, JinjaRender, ::testing::ValuesIn(kUndefined), case_name);

class JinjaRenderError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(JinjaRenderError, FailsLikeJinja2) {
  const ErrorCase& c = GetParam();
  const ChatTemplate t = ChatTemplate::parse(c.source, "test");  // parses: the failure is at render time
  try {
    const std::string out = t.render(nlohmann::ordered_json::parse(kVariables));
    FAIL() << "template: " << c.source << "\nrendered instead of failing: " << out;
  } catch (const TemplateError& e) {
    EXPECT_NE(e.kind(), TemplateError::Kind::kSyntax) << e.what();
    EXPECT_GE(e.line(), 1u) << e.what();
    EXPECT_NE(std::string(e.what()).find("template test line "), std::string::npos) << e.what();
    if (c.python_class) {
      EXPECT_EQ(e.python_class(), c.python_class) << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Jinja, JinjaRenderError, ::testing::ValuesIn(kRenderErrors),
                         [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

class JinjaSyntaxError : public ::testing::TestWithParam<SyntaxCase> {};

TEST_P(JinjaSyntaxError, ParseFailsNamingTheLine) {
  const SyntaxCase& c = GetParam();
  try {
    ChatTemplate::parse(c.source, "broken.jinja");
    FAIL() << "parsed: " << c.source;
  } catch (const TemplateError& e) {
    EXPECT_EQ(e.kind(), TemplateError::Kind::kSyntax) << e.what();
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(e.line(), c.line) << e.what();
    const std::string prefix = "template broken.jinja line " + std::to_string(c.line) + " col ";
    EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0u) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Jinja, JinjaSyntaxError, ::testing::ValuesIn(kSyntaxErrors),
                         [](const ::testing::TestParamInfo<SyntaxCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace muse::text
