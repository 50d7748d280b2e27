# bash completion for ws (installed as /usr/share/bash-completion/completions/ws).
# ws answers its own completions through System.CommandLine's [suggest:POSITION] directive: the binary
# being completed (the command word as typed) is asked, so the completions always match its commands.
_ws() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local line=${COMP_LINE:0:COMP_POINT}
    local IFS=$'\n' word
    COMPREPLY=()
    for word in $("${COMP_WORDS[0]}" "[suggest:${#line}]" "$line" 2>/dev/null); do
        # Options only once a dash is typed; never the Windows-style /? and /h.
        [[ $word == /* ]] && continue
        [[ $word == -* && $cur != -* ]] && continue
        [[ $word == "$cur"* ]] && COMPREPLY+=("$word")
    done
}
complete -o default -F _ws ws
